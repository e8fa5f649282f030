"""Fixtures of the real-backend tests: a loopback listener standing in for the controller's port,
the example config, and cell geometry. Nothing here touches hardware or the network."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network in tests

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "examples" / "real_cell.toml"


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (like the controller's port 502)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """Directories holding a tiny random Grounding DINO and a tiny random SAM (built, not downloaded)."""
    pytest.importorskip("transformers")
    from .tiny_models import build_tiny_grounding_dino, build_tiny_sam

    root = tmp_path_factory.mktemp("models")
    return build_tiny_grounding_dino(root / "grounding-dino"), build_tiny_sam(root / "sam")
