"""The architecture holds: backends sit below the env, perception below the backends, the agents'
stores below everything that learns, no module imports itself back through others, and the info
contract keeps privileged ground truth under one key."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: what learning needs, and only learning
_LEARNING = ("torch", "stable_baselines3", "rmrl_agents.policies", "rmrl_agents.rl100", "rmrl_agents.algorithms")


def _imports(path: Path) -> set[str]:
    """Every module a source file imports (absolute names), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("rmrl_env/sim", ("rmrl_env.env", "rmrl_env.make", "rmrl_env.real", "rmrl_env.twin")),
        ("rmrl_env/real", ("rmrl_env.env", "rmrl_env.make", "rmrl_env.twin")),
        ("rmrl_env/twin", ("rmrl_env.env", "rmrl_env.make")),
        ("rmrl_env/perception", ("rmrl_env.env", "rmrl_env.make", "rmrl_env.real", "rmrl_env.sim", "rmrl_env.backend")),
        # the stores hold trial data on disk: nothing that learns, nothing that runs them
        ("rmrl_agents/stores", (*_LEARNING, "rmrl_agents.common", "rmrl_agents.bench", "rmrl_agents.commands", "rmrl_env.env")),
    ],
)
def test_lower_layers_never_import_upper_ones(package, forbidden):
    # entry points (``python -m`` modules and the ``cli`` packages of the commands) sit above every
    # layer: they may import any of them (the no-loops rule still holds for them)
    paths = sorted(p for p in (ROOT / package).rglob("*.py") if p.name != "__main__.py" and "cli" not in p.parent.parts)
    assert paths, f"{package} holds no module"
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    }
    assert not offenders, sorted(offenders)


def _module_graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports (at any depth of the file). A module importing a
    package it sits in is left out: Python imports the package first anyway."""
    files = {}
    for package in ("rmrl_env", "rmrl_agents"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in files.items():
        targets = {resolve(name) for name in _imports(path)} - {None, module}
        graph[module] = {t for t in targets if t is not None and not module.startswith(t + ".")}
    return graph


def test_no_module_imports_itself_back_through_others():
    graph = _module_graph()
    loops = set()
    for start in graph:  # depth-first search for a path from each module back to itself
        stack, seen = [(start, (start,))], set()
        while stack:
            module, path = stack.pop()
            for nxt in graph[module]:
                if nxt == start:
                    loops.add(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert not loops, sorted(loops)[:5]


def test_importing_the_backends_does_not_import_the_env():
    code = "import sys, rmrl_env.sim.backend, rmrl_env.real.backend, rmrl_env.twin.backend; print('rmrl_env.env' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_importing_the_stores_loads_nothing_that_learns():
    code = (
        "import sys, rmrl_agents.stores.record_store, rmrl_agents.stores.trial_log, rmrl_agents.stores.dataset, "
        "rmrl_agents.stores.repair, rmrl_agents.stores.run_repair, rmrl_agents.stores.files; "
        "print(sorted(m for m in ('torch', 'stable_baselines3', 'mujoco', 'rmrl_agents.common') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_info_keeps_ground_truth_under_privileged():
    import gymnasium as gym

    import rmrl_env  # noqa: F401

    env = gym.make("CellPlatePlace-sim-v0", image_size=(30, 40))
    try:
        _, info = env.reset(seed=1)
        assert set(info) == {"scene_id", "scene", "config_hash", "privileged"}
        assert set(info["privileged"]) == {"requested_pose", "true_pose", "plate_type"}
        _, _, _, _, info = env.step(env.unwrapped.grid.zero_action())
    finally:
        env.close()
    public = {"failure", "message", "pick_pose", "adjustment", "target_pose", "config_hash", "e_trans_mm", "e_rot_deg", "success"}
    assert public <= set(info) <= public | {"final_pose", "privileged"}
    assert not any(key.startswith(("true_", "requested")) for key in info)
    assert set(info["privileged"]) == {
        "requested_pose",
        "true_pose",
        "plate_type",
        "true_final_pose",
        "true_e_trans_mm",
        "true_e_rot_deg",
        "true_tilt_deg",
    }
