"""``rmrl train``: train an agent into an output directory; rerun the same command to resume.

Layout of ``--out DIR``::

    run.json                 the settings of the run (checked when resuming)
    data/trials/             the trial log: every trial, appended as it happens
    data/role_model/         the role-model dataset D (rmrl)
    checkpoints/latest.zip   the last checkpoint (atomic; every --checkpoint-every trials)
    logs/progress.csv        SB3 logger output (+ TensorBoard events with --tensorboard)
    model.zip                the final model, for rmrl eval and deployment (no optimizer state)
    summary.json             the summary table, as JSON
    .lock                    held by the process training in the folder (its pid inside)

Nothing is written before every input has been checked and the env and model are built, so a
mistyped option never leaves a folder that refuses the corrected command. A checkpoint that is
missing or unreadable while the trial log holds trials is not a restart: the model is rebuilt by
replaying the log (as after a crash), then training continues with the step counter, scenes and
random streams where they were.
"""

from __future__ import annotations

import argparse

from rmrl_agents.algorithms import ALGORITHMS
from rmrl_agents.commands._shared import json_dict, non_negative_int, positive_int, reward_threshold


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an agent (resumable: rerun the same command on the same --out)",
        description="Train REINFORCE, RL + replay buffer or RM-RL on a cell-plate env. Every trial is "
        "logged to --out as it happens; rerunning the same command continues from the last checkpoint.",
    )
    p.add_argument(
        "--agent",
        required=True,
        choices=sorted(ALGORITHMS),
        help="reinforce | replay (RL + replay buffer) | rmrl | rl100 (continuous env) | calibration (a reward-only constant offset)",
    )
    p.add_argument("--env", default="CellPlatePlace-sim-v0", help="Gymnasium env id (default: %(default)s)")
    p.add_argument("--steps", type=positive_int, required=True, help="total trials of the run (a resumed run counts those done)")
    p.add_argument("--out", required=True, help="output directory (created; reused to resume)")
    p.add_argument("--pretrain", metavar="PATH", help="role-model dataset (or earlier run's --out) to pretrain on first")
    p.add_argument("--pretrain-epochs", type=positive_int, default=10, help="pretraining passes over the dataset (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env-kwargs", type=json_dict, default={}, help="JSON object passed to gym.make")
    p.add_argument(
        "--agent-kwargs", type=json_dict, default={}, help="JSON object of agent parameters, e.g. '{\"scene_size\": 5}'"
    )
    p.add_argument(
        "--policy-kwargs",
        type=json_dict,
        default={},
        help="JSON object of policy parameters, e.g. '{\"resnet_depth\": 10}'",
    )
    p.add_argument(
        "--recipe",
        choices=("default", "paper"),
        default="default",
        help="default: this project's learning core; paper: the paper's recipe for reinforce, replay and rmrl "
        "(uniform start, argmax, eq. 6 without baseline or entropy bonus, one-hot labels; rmrl_agents.recipes). "
        "--agent-kwargs and --policy-kwargs override it",
    )
    p.add_argument("--checkpoint-every", type=positive_int, default=10, help="trials between checkpoints (default 10)")
    p.add_argument("--log-interval", type=non_negative_int, default=10, help="trials between logger dumps (default 10; 0: never)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/logs")
    p.add_argument("--tau", type=reward_threshold, default=0.95, help="reward threshold of T^10_τ in the summary (default 0.95)")
    p.add_argument("--threads", type=positive_int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", type=int, default=0, help="SB3 verbosity (1: print the logger table)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rmrl_agents.commands.training import train  # torch and SB3: only when a run starts

    return train(args)
