"""Tests of the RL100 parts (rmrl_agents.rl100) on tiny networks and generated data."""
