"""``rmrl bench --ray ADDRESS``: the address's form checked by argparse, and the cluster's head
reached (a TCP connection, a few seconds at most) before the benchmark starts.

Without this, a wrong address is found by ``ray.init`` after about 30 s of retries, with three
tracebacks.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import socket
from urllib.parse import urlsplit

from rmrl_agents.commands._shared import UsageError

#: how long the cluster's head may take to accept a connection
CONNECT_TIMEOUT_S = 3.0
#: Ray's own address words: a running local cluster ("auto") or a new local instance ("local")
KEYWORDS = ("auto", "local")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def ray_address(text: str) -> str:
    """argparse type: "auto", "local", HOST:PORT or ray://HOST:PORT (Ray Client)."""
    if text in KEYWORDS:
        return text
    if _host_port(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Ray address; give 'auto', 'local', HOST:PORT (the head's GCS port, 6379 by default) "
            "or ray://HOST:PORT (Ray Client, 10001 by default)"
        )
    return text


def _host_port(text: str) -> tuple[str, int] | None:
    rest = text.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    parsed = urlsplit(f"//{rest}")
    return (parsed.hostname or host), int(port)


def check_ray_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Before any work: Ray is installed, and the head at HOST:PORT accepts a connection.

    :raises UsageError: naming the address and what to do.
    """
    if importlib.util.find_spec("ray") is None:
        raise UsageError(f"--ray {address} needs Ray: pip install 'rmrl[cluster]'")
    found = _host_port(address)
    if found is None:  # "auto" / "local": Ray finds or starts the instance itself
        return
    try:
        socket.create_connection(found, timeout=timeout_s).close()
    except TimeoutError:
        problem = f"no answer within {timeout_s:g} s"
    except socket.gaierror as err:
        problem = f"unknown host ({err.strerror})"
    except OSError as err:
        problem = err.strerror or type(err).__name__
    else:
        return
    raise UsageError(
        f"--ray {address}: cannot reach a Ray cluster there ({problem}); start its head (ray start --head) "
        "or fix the address (the head node prints it)"
    )
