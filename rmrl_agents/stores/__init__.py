"""Where trial data lives on disk: every file a run writes about its trials, and nothing that learns.

- :mod:`.record_store`: the append-only, checksummed record store (format, locking, opening checks);
- :mod:`.trial_log`: the trial log, every trial of a run (a record store of kind "trials");
- :mod:`.dataset`: the role-model dataset, the labels RM-RL learns from (kind "role_model");
- :mod:`.repair` and :mod:`.run_repair`: keeping the intact records of a damaged store, and what a
  run derived from its trials in line with them (``rmrl repair``);
- :mod:`.files`: JSON-safe values, the one atomic file writer, directory locks.

These modules import neither torch nor Stable-Baselines3; how the agents use the stores (opening a
run's log, syncing trials into an algorithm) is in :mod:`rmrl_agents.common`.
"""
