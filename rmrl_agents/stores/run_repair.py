"""Keeping what a run derived from its trials in line with its (repaired) trial log.

A run's data folder holds the trial log ``trials/`` and, for RM-RL, the role-model dataset
``role_model/``, whose labels name the trial they label (``trial``: its position in the log,
``trial_time``: its logged end time) and the scene's role model (``role_model_trial``); the
run's ``checkpoints/latest.zip`` records how many trials of the log its weights have seen.
When a repair drops trials from the log, or renumbers the ones after a gap:

- a label is kept only if the trial it labels is kept (same end time) and so is its scene's role
  model (a scene that lost its role model has another one now; one that lost another trial
  has the same); its trial numbers follow the renumbering. The dataset is rewritten, the old one moved to ``role_model.before-repair-<time>``.
- a checkpoint that has seen a trial at or after the first changed position (a lost trial, or
  a trial of a scene whose labels were dropped) is moved to ``latest.zip.before-repair-<time>``:
  ``rmrl train`` then rebuilds the model by replaying the repaired log, which relabels those
  scenes once and brings every counter (trials, scenes, the replay buffer's window) in line.

The same check finds labels left behind by an earlier repair (a label of a trial the log no
longer holds, or of another trial at the same position), so ``rmrl repair RUN`` also mends a
run that an older ``rmrl repair`` left inconsistent.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmrl_agents.stores.repair import RepairReport, apply_repair, inspect_store, move_aside

_BEFORE = "before-repair"


@dataclass
class RunPlan:
    """What a repair of a run's trial log changes beside the log.

    Attributes:
        dataset: the run's role-model dataset (None if it has none).
        labels: the dataset's check (its own damage included).
        dropped: labels (dataset record numbers) whose trial or role model is not kept.
        renumber: {old trial number: new trial number} of the kept trials.
        records: {new trial number: its record}.
        changed_from: the first trial position whose trial or labels changed (the log's length if none).
        checkpoint: the checkpoint to move aside (None: there is none, or it has seen only unchanged trials).
    """

    dataset: Path | None = None
    labels: RepairReport | None = None
    dropped: list[int] = field(default_factory=list)
    renumber: dict[int, int] = field(default_factory=dict)
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    changed_from: int = 0
    checkpoint: Path | None = None
    checkpoint_seen: int = 0

    @property
    def dataset_changes(self) -> bool:
        return self.labels is not None and (bool(self.dropped) or not self.labels.intact)

    def describe(self) -> list[str]:
        lines = []
        if self.dataset is not None and self.dropped:
            lines.append(
                f"{self.dataset}: {len(self.dropped)} label(s) no longer label a kept trial by a kept role model "
                f"(labels {_numbers(self.dropped)}); they are left out (a resumed run labels those scenes again)"
            )
        if self.checkpoint is not None:
            lines.append(
                f"{self.checkpoint} has seen {self.checkpoint_seen} trials, from trial {self.changed_from} on not as "
                "the repaired log holds them; it is moved aside, and `rmrl train` rebuilds the model from the log"
            )
        return lines

    def select(self, labels: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
        """The labels to keep, renumbered to the repaired log."""
        kept = []
        for number, rec in labels:
            if number in self.dropped:
                continue
            rec = dict(rec)
            if "trial" in rec:
                rec["trial"] = self.renumber[rec["trial"]]
            if rec.get("role_model_trial") in self.renumber:
                rec["role_model_trial"] = self.renumber[rec["role_model_trial"]]
            kept.append((number, rec))
        return kept


def _numbers(values: list[int]) -> str:
    shown = ", ".join(map(str, values[:10]))
    return shown + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def plan_run(trials: Path, report: RepairReport) -> RunPlan:
    """What repairing the trial log at ``trials`` (checked as ``report``) changes in its run."""
    kept = list(report.kept)
    plan = RunPlan(renumber={old: new for new, old in enumerate(kept)})
    plan.records = {new: report.kept[old] for old, new in plan.renumber.items()}
    first_changed = [lost.index for lost in report.lost]
    plan.changed_from = min(first_changed, default=len(kept))
    dataset = trials.parent / "role_model"
    if (dataset / "meta.json").exists():
        plan.dataset, plan.labels = dataset, inspect_store(dataset)
        plan.dropped = [n for n, rec in plan.labels.kept.items() if not _still_labels(plan, rec)]
        if plan.dropped:
            labelled = [plan.labels.kept[n].get("trial") for n in plan.dropped]
            plan.changed_from = min([plan.changed_from, *(plan.renumber[t] for t in labelled if t in plan.renumber)])
    checkpoint = trials.parent.parent / "checkpoints" / "latest.zip"
    if trials.parent.name == "data" and checkpoint.exists():
        seen = _seen(checkpoint)
        if seen is not None and seen > plan.changed_from:
            plan.checkpoint, plan.checkpoint_seen = checkpoint, seen
    return plan


def _still_labels(plan: RunPlan, rec: dict[str, Any]) -> bool:
    """Whether a label still labels a kept trial (the same one: same end time) with a kept role model.

    A scene that lost a trial other than its role model keeps its labels: the best of its kept
    trials is the same trial, so replaying it gives the same label.
    """
    if "trial" not in rec:  # a label added by hand, not from this log
        return True
    new = plan.renumber.get(rec["trial"])
    if new is None or rec.get("trial_time") not in (None, plan.records[new].get("time")):
        return False
    if "role_model_trial" not in rec:
        return True
    model = plan.renumber.get(rec["role_model_trial"])
    return model is not None and rec.get("role_model_reward") in (None, plan.records[model].get("reward"))


def _seen(checkpoint: Path) -> int | None:
    """How many trials of the log a checkpoint's weights have seen (None if the file is unreadable)."""
    try:
        with zipfile.ZipFile(checkpoint) as zf:
            seen = json.loads(zf.read("data")).get("_log_position")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return seen if isinstance(seen, int) else None


def apply_run(plan: RunPlan) -> list[str]:
    """Rewrite the dataset and move the checkpoint aside as ``plan`` says; returns what was done."""
    done = []
    if plan.dataset is not None and plan.dataset_changes:
        why = "damaged" if plan.labels is not None and not plan.labels.intact else _BEFORE
        report, backup = apply_repair(plan.dataset, select=plan.select, why=why)
        kept = len(report.kept) - len(plan.dropped)
        done.append(f"  {plan.dataset} now holds {kept} labels; the previous dataset is at {backup}")
    if plan.checkpoint is not None:
        done.append(f"  the checkpoint is now at {move_aside(plan.checkpoint, _BEFORE)}")
    return done
