"""SB3 save / load round trip: same deterministic actions, counters and data kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from rmrl_agents import REINFORCE, RL100, RMRL, ReplayREINFORCE
from rmrl_agents.algorithms import ALGORITHMS
from rmrl_agents.calibration import OffsetCalibration
from rmrl_agents.common.envs import SyntheticPlateEnv

from .conftest import TINY_POLICY_KWARGS

RL100_TINY = {"resnet_depth": 10, "resnet_width": 8, "denoiser_hidden": (64, 64), "critic_hidden": (32, 32)}


def _observations(make_env, n: int = 8):
    env = make_env()
    obs, _ = env.reset(seed=99)
    out = []
    for _ in range(n):
        out.append(obs)
        obs, _ = env.reset()
    return out


@pytest.mark.parametrize("algo", [REINFORCE, ReplayREINFORCE, RMRL])
def test_round_trip_reproduces_deterministic_actions(algo, make_env, tiny_policy, tmp_path) -> None:
    model = algo("MultiInputPolicy", make_env(), seed=3, policy_kwargs=tiny_policy, data_dir=tmp_path / "data")
    model.learn(12)
    model.save(tmp_path / "model.zip")
    observations = _observations(make_env)
    before = [model.predict(o, deterministic=True)[0] for o in observations]
    model.close_storage()

    loaded = algo.load(tmp_path / "model.zip", env=make_env())
    after = [loaded.predict(o, deterministic=True)[0] for o in observations]
    np.testing.assert_array_equal(np.stack(before), np.stack(after))
    assert loaded.num_timesteps == 12
    assert loaded.data_dir == str(tmp_path / "data")
    assert loaded.policy_kwargs == model.policy_kwargs
    if algo is RMRL:
        assert len(loaded.dataset) == 10 and loaded.scene_size == model.scene_size
    # continue training on the same data directory: the log grows, the counter continues
    loaded.learn(3, reset_num_timesteps=False)
    assert loaded.num_timesteps == 15 and len(loaded.trial_log) == 15
    assert [r["timestep"] for r in loaded.trial_log.records] == list(range(1, 16))

    bare = algo.load(tmp_path / "model.zip")  # no env: prediction only
    batch = {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    np.testing.assert_array_equal(bare.predict(batch, deterministic=True)[0], np.stack(before))


def test_sb3_callbacks_and_logger(make_env, tiny_policy, tmp_path) -> None:
    from stable_baselines3.common.logger import configure

    seen: list[int] = []

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            seen.append(self.num_timesteps)
            assert "infos" in self.locals and "e_trans_mm" in self.locals["infos"][0]
            return self.num_timesteps < 4

    model = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "d", scene_size=2)
    model.set_logger(configure(str(tmp_path / "log"), ["csv"]))
    model.learn(50, callback=Stop(), log_interval=2)
    assert seen == [1, 2, 3, 4] and model.num_timesteps == 4
    header = (tmp_path / "log" / "progress.csv").read_text().splitlines()[0].split(",")
    for key in (
        "trial/reward",
        "trial/e_trans_mm",
        "train/pg_loss",
        "train/scene_ce_loss",
        "rmrl/dataset_size",
        "time/total_timesteps",
    ):
        assert key in header, key


def test_resume_from_checkpoint_replays_logged_trials_exactly(make_env, tiny_policy, tmp_path) -> None:
    """Checkpoint after 5 trials, 4 more trials only in the log (a crash): loading the checkpoint
    and catching up on the log gives the same weights as the uninterrupted run (REINFORCE's
    updates are deterministic given the logged trials; the optimizer state is checkpointed)."""
    model = REINFORCE("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "d")
    model.learn(5)
    model.save(tmp_path / "ckpt.zip")
    model.learn(4, reset_num_timesteps=False)
    reference = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.close_storage()

    resumed = REINFORCE.load(tmp_path / "ckpt.zip", env=make_env())
    assert resumed.num_timesteps == 5
    assert resumed.sync_with_log() == 4 and resumed.num_timesteps == 9
    for key, value in reference.items():
        assert th.allclose(resumed.policy.state_dict()[key], value, atol=1e-6), key
    assert resumed.sync_with_log() == 0  # idempotent


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_sb3_path_convention_save_m_writes_m_zip_and_loads_with_or_without_the_suffix(name, tmp_path, monkeypatch) -> None:
    """SB3's convention: ``save("m")`` writes m.zip; ``load("m")``, ``load("m.zip")`` and path
    objects of both all load it, with an env to check against too."""
    algo = ALGORITHMS[name]
    kind = "continuous" if algo is RL100 else "grid"
    policy_kwargs = RL100_TINY if algo is RL100 else None if algo is OffsetCalibration else dict(TINY_POLICY_KWARGS)

    def env():
        return SyntheticPlateEnv(action_type=kind)

    monkeypatch.chdir(tmp_path)
    model = algo("MultiInputPolicy", env(), seed=0, policy_kwargs=policy_kwargs, data_dir=tmp_path / "data")
    model.save("m")
    model.close_storage()
    assert (tmp_path / "m.zip").is_file() and not (tmp_path / "m").exists()
    for path in ("m", "m.zip", Path("m"), tmp_path / "m.zip"):
        assert type(algo.load(path, env=env())) is algo, path
        assert type(algo.load(path)) is algo, path


@pytest.mark.parametrize(("name", "trials", "rows"), [("reinforce", 3, [3]), ("rmrl", 12, [5, 10, 12]), ("rl100", 3, [3])])
def test_progress_csv_holds_every_interval_and_the_last_partial_one(name, trials, rows, tmp_path) -> None:
    """A run shorter than log_interval still writes a row, and the last partial interval is written."""
    import csv

    from stable_baselines3.common.logger import configure

    algo = ALGORITHMS[name]
    env = SyntheticPlateEnv(action_type="continuous" if algo is RL100 else "grid")
    extra = {"scene_size": 2} if algo is RMRL else {"imitation_steps": 0, "online_batch_size": 2} if algo is RL100 else {}
    policy_kwargs = RL100_TINY if algo is RL100 else dict(TINY_POLICY_KWARGS)
    model = algo("MultiInputPolicy", env, seed=0, policy_kwargs=policy_kwargs, data_dir=tmp_path / "d", **extra)
    model.set_logger(configure(str(tmp_path / "log"), ["csv"]))
    model.learn(trials, log_interval=5)
    with (tmp_path / "log" / "progress.csv").open() as fh:
        logged = [int(float(r["time/total_timesteps"])) for r in csv.DictReader(fh) if r.get("time/total_timesteps")]
    assert logged == rows


@pytest.mark.parametrize("name", ["rmrl", "rl100"])
def test_save_for_inference_leaves_out_the_optimizer_state_and_loads_the_same_policy(name, tmp_path) -> None:
    import zipfile

    algo = ALGORITHMS[name]
    env = SyntheticPlateEnv(action_type="continuous" if algo is RL100 else "grid")
    policy_kwargs = RL100_TINY if algo is RL100 else dict(TINY_POLICY_KWARGS)
    model = algo("MultiInputPolicy", env, seed=0, policy_kwargs=policy_kwargs, data_dir=tmp_path / "d")
    model.learn(3)
    model.save(tmp_path / "full")
    model.save_for_inference(tmp_path / "small")
    full, small = (set(zipfile.ZipFile(tmp_path / f"{n}.zip").namelist()) for n in ("full", "small"))
    assert "policy.optimizer.pth" in full and not any("optimizer" in n for n in small)
    optimizer_bytes = sum(i.compress_size for i in zipfile.ZipFile(tmp_path / "full.zip").infolist() if "optimizer" in i.filename)
    assert (tmp_path / "small.zip").stat().st_size < (tmp_path / "full.zip").stat().st_size - 0.9 * optimizer_bytes
    model.save(tmp_path / "again")  # the model itself still saves in full
    assert "policy.optimizer.pth" in zipfile.ZipFile(tmp_path / "again.zip").namelist()
    model.close_storage()

    obs, _ = env.reset(seed=5)
    loaded = algo.load(tmp_path / "small", env=env)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    loaded.save(tmp_path / "resaved")  # a model loaded for inference saves in full again
    assert "policy.optimizer.pth" in zipfile.ZipFile(tmp_path / "resaved.zip").namelist()


def _rename_in_saved_policy_kwargs(path: Path, old: str, new: str) -> None:
    """Rewrite a model file as an older version saved it: a policy keyword under its old name."""
    import json
    import zipfile

    with zipfile.ZipFile(path) as src:
        files = {name: src.read(name) for name in src.namelist()}
    data = json.loads(files["data"])
    kwargs = data["policy_kwargs"]
    kwargs[old] = kwargs.pop(new)
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as dst:
        for name, content in files.items():
            dst.writestr(name, content)


@pytest.mark.parametrize(("algo", "kwargs"), [(REINFORCE, TINY_POLICY_KWARGS), (RL100, RL100_TINY)])
def test_the_policy_resize_has_its_own_name_and_old_files_still_load(algo, kwargs, tmp_path) -> None:
    env = SyntheticPlateEnv(image_size=(32, 32), **({"action_type": "continuous"} if algo is RL100 else {}))
    # the env's observation size stays `image_size`; the policy's resize is `encoder_input_size`
    with pytest.raises(ValueError, match="'image_size' is now 'encoder_input_size'"):
        algo("MultiInputPolicy", env, policy_kwargs={**kwargs, "image_size": (16, 16)}, data_dir=tmp_path / "x")
    model = algo(
        "MultiInputPolicy", env, seed=0, policy_kwargs={**kwargs, "encoder_input_size": (16, 16)}, data_dir=tmp_path / "d"
    )
    assert model.policy.encoder.encoder_input_size == (16, 16)
    obs, _ = env.reset(seed=5)
    before = model.predict(obs, deterministic=True)[0]
    model.save(tmp_path / "old")
    model.close_storage()
    _rename_in_saved_policy_kwargs(tmp_path / "old.zip", "image_size", "encoder_input_size")
    loaded = algo.load(tmp_path / "old", env=env)
    assert loaded.policy.encoder.encoder_input_size == (16, 16)
    assert tuple(loaded.policy_kwargs["encoder_input_size"]) == (16, 16) and "image_size" not in loaded.policy_kwargs
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], before)
