"""The wheel ships every package and the MJCF assets, and a plain (non-editable) install works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy: setuptools writes build/ and *.egg-info next to the sources."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("setup.cfg", "setup.py", "pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    for name in ("rmrl_env", "rmrl_agents", "assets"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        cwd=tmp,
    )
    (built,) = out.glob("rmrl-*.whl")
    return built


def _source_packages() -> set[str]:
    """Every folder of the two packages that holds an __init__.py, as a dotted name."""
    return {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("rmrl_env", "rmrl_agents")
        for init in (REPO / top).rglob("__init__.py")
    }


def test_wheel_ships_every_package_and_the_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"rmrl_env/assets/cell.xml", "rmrl_env/assets/xarm6_bio.xml"} <= names
    shipped = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    missing = _source_packages() - shipped
    assert not missing, f"packages left out of the wheel: {sorted(missing)}"
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_wheel_installed_plainly_finds_its_assets(wheel, tmp_path):
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


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_imports_everything_and_runs_the_cli(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
    )
    fresh_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies (torch, mujoco, ...) come from the dev venv's site-packages, added by a .pth
    # line. Python does not process .pth files inside a folder added that way, so the dev venv's
    # editable finder (its __editable__*.pth) stays inactive: rmrl can only come from the wheel.
    (fresh_site / "zz_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = (
        "import gymnasium as gym, rmrl_env, rmrl_agents, rmrl_env.twin, rmrl_env.twin.xarm_emulator, rmrl_agents.rl100\n"
        "from rmrl_agents.cli import main\n"
        "env = gym.make('CellPlatePlace-sim-v0'); env.reset(seed=0); env.close()\n"
        "print(rmrl_env.__file__); print(rmrl_agents.__file__)\n"
    )
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=work, env=env)
    assert run.returncode == 0, run.stderr
    for line in run.stdout.split():
        assert Path(line).is_relative_to(fresh_site), f"{line} is not from the fresh venv {fresh_site}"
    cli = subprocess.run([str(venv / "bin" / "rmrl"), "--help"], capture_output=True, text=True, cwd=work, env=env)
    assert cli.returncode == 0, cli.stderr
    assert "usage: rmrl" in cli.stdout
