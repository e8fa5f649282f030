"""The benchmark's evaluation: fixed scenes balanced over plate types, and checkpoint evaluations
that leave training as it would have been."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from rmrl_agents.bench import config, jobs
from rmrl_agents.bench.config import EVAL_POSES_SEED, EVAL_RESET_SEED, BenchConfig
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.common.evaluation import balanced_scenes, evaluate_policy, fixed_poses

pytest.importorskip("rmrl_env")


def test_balanced_scenes_hold_each_plate_type_equally_and_are_the_same_every_time():
    import gymnasium as gym

    env = gym.make(config.PLACE_ID)
    scenes = balanced_scenes(env, 6, EVAL_POSES_SEED, EVAL_RESET_SEED)
    assert Counter(scenes.plate_types) == {"standard": 3, "deep_well": 3}
    # the first candidates, in order, without a repeated seed
    assert scenes.seeds == sorted(set(scenes.seeds)) and scenes.seeds[0] == EVAL_RESET_SEED
    again = balanced_scenes(gym.make(config.PLACE_ID), 6, EVAL_POSES_SEED, EVAL_RESET_SEED)
    assert np.array_equal(scenes.poses, again.poses) and scenes.seeds == again.seeds
    # evaluating on them meets those plates, and the actions taken are in the columns
    cols = evaluate_policy(None, env, poses=scenes.poses, seeds=scenes.seeds).columns()
    assert cols["plate_type"] == scenes.plate_types
    assert cols["action"] == [list(env.unwrapped.grid.zero_action())] * 6
    odd = balanced_scenes(env, 5, EVAL_POSES_SEED, EVAL_RESET_SEED)
    assert Counter(odd.plate_types) == {"deep_well": 3, "standard": 2}
    env.close()


def test_balanced_scenes_refuse_an_env_without_plate_types_and_seeds_must_match_the_poses():
    env = SyntheticPlateEnv()
    with pytest.raises(ValueError, match="plate type"):
        balanced_scenes(env, 4, 0, 0, types=("a", "b"))
    with pytest.raises(ValueError, match="names no plate types"):
        balanced_scenes(env, 4, 0, 0)
    poses = fixed_poses(env.reset_region, 3, seed=1)
    with pytest.raises(ValueError, match="one reset seed per fixed pose"):
        evaluate_policy(None, env, poses=poses, seeds=[1, 2])


def test_checkpoint_evaluations_do_not_change_what_training_does(tmp_path):
    tiny = BenchConfig(
        train_trials=6,
        seeds=1,
        cells=(None,),
        eval_poses=2,
        shelf_trials=1,
        eval_checkpoints=(),
        methods=("REINFORCE",),
        policy_kwargs={"resnet_depth": 10, "resnet_width": 8, "encoder_input_size": (30, 40), "head_hidden": (16,)},
    )
    plain = jobs._train(tiny, "REINFORCE", 0, None, 6, tmp_path / "a", None)
    curved = jobs._train(replace(tiny, eval_checkpoints=(2, 4, 6, 9)), "REINFORCE", 0, None, 6, tmp_path / "b", None)
    assert plain["checkpoints"] == {} and list(curved["checkpoints"]) == ["2", "4"]  # 6 is the final evaluation's
    assert curved["train_rewards"] == plain["train_rewards"]
    final = [
        jobs.evaluate_on_cell(tiny, None, lambda env, r=r: r["model"], learner=True, tasks=("place",)) for r in (plain, curved)
    ]
    assert final[0] == final[1]
    assert len(curved["checkpoints"]["2"]["true_e_trans_mm"]) == 2
