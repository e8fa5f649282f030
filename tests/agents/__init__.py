"""Tests of rmrl_agents (a package, so test module names cannot clash with other test folders)."""
