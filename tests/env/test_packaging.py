"""The MJCF assets ship in the wheel and are found from a non-editable install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_ships_the_assets_and_a_plain_install_finds_them(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("rmrl_env", "rmrl_agents", "assets"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir), str(src)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheel_dir.glob("rmrl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"rmrl_env/assets/cell.xml", "rmrl_env/assets/xarm6_bio.xml"} <= names

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    # Run from an empty folder with only the installed copy on the path (not the checkout).
    code = "from rmrl_env.sim.assets import asset_dir; print(asset_dir())"
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(out) == target / "rmrl_env" / "assets"
