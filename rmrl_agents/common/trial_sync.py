"""The trial log as the agents use it: one record per trial, and catching up after a crash.

Every trial is appended to the on-disk :class:`~rmrl_agents.stores.trial_log.TrialLog` as soon as it
ends. A checkpoint records how many trials of the log its weights have consumed; after a crash
the log may hold later trials, which the model replays (:func:`unseen_trials`) exactly as they
were processed live, so at most the trial in flight is lost.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.logger import Logger

from rmrl_agents.common.env_signature import check_signature
from rmrl_agents.common.info import failure_code
from rmrl_agents.errors import DatasetError
from rmrl_agents.stores.trial_log import TrialLog
from rmrl_env.info import PRIVILEGED_KEY, privileged

#: info entries that become their own trial-log fields
INFO_FIELDS = ("e_trans_mm", "e_rot_deg", "success", "final_pose")
#: info entries not copied into a record's free-form ``info`` (own fields, SB3 bookkeeping)
_INFO_SKIP = {"terminal_observation", "episode", "TimeLimit.truncated", "adjustment", "failure", PRIVILEGED_KEY, *INFO_FIELDS}


@dataclass
class Trial:
    """One completed trial.

    Attributes:
        index: position in the trial log.
        image: the observation image in the env's layout, (H, W, 3) uint8.
        pose: the estimated pose P^e, [x m, y m, yaw rad], float32 (3,).
        action: grid indices, int64 (3,), or a continuous action, float32 (3,).
        reward: r in [0, 1] (NaN if the log holds none).
        scene: the scene the trial belongs to (trials of one scene share their initial state).
        record: the trial's log record.
    """

    index: int
    image: np.ndarray
    pose: np.ndarray
    action: np.ndarray
    reward: float
    scene: int
    record: dict[str, Any] = field(default_factory=dict)


def open_trial_log(
    path: Path,
    image_shape: tuple[int, ...] | None,
    env_id: str | None,
    action_nvec: list[int] | None,
    signature: Mapping[str, Any] | None = None,
) -> TrialLog:
    """Open (or create) the trial log at ``path`` for a model acting on the grid ``action_nvec``
    (None: continuous actions, logged with ``action_type="continuous"``).

    :param signature: the env's :func:`~rmrl_agents.common.env_signature.env_signature`, stored
        in a new log and compared with an existing one's (grid by value, image size, config hash).
    :raises DatasetError: the directory logs trials of another action grid or action type.
    :raises IncompatibleEnvError: the directory logs trials of another grid or env config.
    """
    action_type = "grid" if action_nvec is not None else "continuous"
    attrs = {"env_id": env_id, "action_nvec": action_nvec, "action_type": action_type, "env": signature}
    log = TrialLog(path, image_shape=image_shape, attrs=attrs)
    try:
        logged_type = log.attrs.get("action_type", "grid")
        if logged_type != action_type:
            raise DatasetError(
                f"{path} logs {logged_type} actions, but this model takes {action_type} actions; use another data_dir"
            )
        if action_nvec is not None and log.attrs.get("action_nvec") not in (None, action_nvec):
            raise DatasetError(
                f"{path} logs trials on the action grid {log.attrs['action_nvec']}, but this model's is {action_nvec}; "
                "use another data_dir"
            )
        if signature is not None:
            check_signature(
                log.attrs.get("env"),
                signature,
                f"the trial log {path}",
                "continue it with the same env, or use another data_dir",
                config_must_match=True,
            )
    except ValueError:
        log.close()
        raise
    return log


def last_scene(log: TrialLog) -> int:
    """The highest scene id in the log (-1 if empty)."""
    return max([int(s) for s in log.column("scene", -1) if s is not None], default=-1)


def trial_from_log(log: TrialLog, index: int) -> Trial:
    """Trial ``index`` of the log, as it was live."""
    rec = log.records[index]
    return Trial(
        index=index,
        image=log.get("image", [index])[0],
        pose=np.asarray(rec["pose"], dtype=np.float32),
        action=np.asarray(rec["action"], dtype=np.int64 if log.attrs.get("action_type", "grid") == "grid" else np.float32),
        reward=float("nan") if rec.get("reward") is None else float(rec["reward"]),
        scene=int(rec.get("scene", index)),
        record=rec,
    )


def unseen_trials(log: TrialLog, position: int) -> Iterator[Trial]:
    """The trials of the log after the first ``position`` ones (those a checkpoint has seen).

    :raises DatasetError: the log holds fewer than ``position`` trials (truncated, or another log).
    """
    if position > len(log):
        raise DatasetError(
            f"this model has seen {position} trials of {log.path} but the log holds only {len(log)}; "
            "the log was truncated or data_dir points elsewhere"
        )
    for index in range(position, len(log)):
        yield trial_from_log(log, index)


def trial_record(
    *,
    trial: int,
    timestep: int,
    agent: str,
    scene: int,
    pose: np.ndarray,
    action: np.ndarray,
    adjustment: Sequence[float] | np.ndarray | None,
    reward: float,
    info: Mapping[str, Any],
    reset_info: Mapping[str, Any],
    t_start: float,
    duration_s: float,
) -> dict[str, Any]:
    """The log record of one trial (see :class:`~rmrl_agents.stores.trial_log.TrialLog` for the fields).

    ``t_start`` is a POSIX time (s); the env's privileged ground truth, where there is any, is
    kept under ``privileged``.
    """
    truth = {k: v for k, v in privileged(info).items() if _small(v)}
    return {
        "trial": trial,
        "timestep": timestep,
        "agent": agent,
        "scene": scene,
        "pose": pose,
        "action": action,
        "adjustment": adjustment,
        "reward": reward,
        **{k: info.get(k) for k in INFO_FIELDS},
        "failure": failure_code(info),
        "privileged": truth or None,
        "t_start": _dt.datetime.fromtimestamp(t_start, _dt.UTC).isoformat(),
        "time": _dt.datetime.now(_dt.UTC).isoformat(),
        "duration_s": duration_s,
        "info": {k: v for k, v in info.items() if k not in _INFO_SKIP and _small(v)},
        "reset_info": {k: v for k, v in reset_info.items() if k != PRIVILEGED_KEY and _small(v)},
    }


def log_trial_metrics(logger: Logger, reward: float, info: Mapping[str, Any]) -> None:
    """Record a trial's reward, errors and success with SB3's logger (means over a dump interval)."""
    logger.record_mean("trial/reward", reward)
    for key in ("e_trans_mm", "e_rot_deg"):
        value = info.get(key)
        if value is not None and np.isfinite(value):
            logger.record_mean(f"trial/{key}", float(value))
    if info.get("success") is not None:
        logger.record_mean("trial/success", float(bool(info["success"])))


def _small(value: Any) -> bool:
    """Whether an info value is small enough to keep in the JSON index (scalars, short arrays)."""
    if value is None or isinstance(value, (bool, int, float, str, np.number, np.bool_)):
        return not isinstance(value, str) or len(value) < 1000
    if isinstance(value, (np.ndarray, list, tuple)):
        flat = np.asarray(value, dtype=object).ravel()
        return flat.size <= 16 and all(_small(v) for v in flat)
    return False
