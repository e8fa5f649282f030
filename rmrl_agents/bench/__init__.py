"""Benchmarks that reproduce the paper's experiments on the simulated cell (``rmrl bench``)."""
