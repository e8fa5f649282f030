"""Locate the MJCF assets, from a source checkout or an installed wheel.

The repository keeps them in ``assets/`` at the top level; the package installs that folder
as ``rmrl_env.assets`` (see ``package_dir`` in setup.cfg).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SCENE_FILE = "cell.xml"
#: The arm alone: the controller's nominal kinematics (loads on its own).
ARM_FILE = "xarm6_bio.xml"


def asset_dir() -> Path:
    """The folder holding ``cell.xml`` and the files it includes."""
    installed = Path(str(resources.files("rmrl_env"))) / "assets"
    if (installed / SCENE_FILE).is_file():
        return installed
    checkout = Path(__file__).resolve().parents[2] / "assets"
    if (checkout / SCENE_FILE).is_file():
        return checkout
    raise FileNotFoundError(
        f"the MJCF assets ({SCENE_FILE}) were found neither in the installed package rmrl_env.assets "
        f"nor in {checkout}: reinstall rmrl (pip install .)"
    )


def scene_path() -> Path:
    return asset_dir() / SCENE_FILE


def arm_path() -> Path:
    return asset_dir() / ARM_FILE
