"""Figures in the README that a script prints are the script's: a test runs it and compares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _code_blocks() -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", README.read_text(), re.M | re.S)


def _readme_demo_block() -> list[str]:
    """The lines of the README's code block that shows the demo's figures."""
    found = [b for b in _code_blocks() if re.search(r"^\s*zero: mean e_trans", b, re.M)]
    assert len(found) == 1, "the README should show the demo's figures in one code block"
    return found[0].rstrip("\n").splitlines()


@pytest.mark.slow
def test_the_readme_shows_what_the_demo_prints(capsys):
    from rmrl_env.demo import main

    assert main([]) == 0  # the README's figures are those of the defaults
    printed = capsys.readouterr().out.splitlines()
    shown = _readme_demo_block()
    summary = [line for line in printed if re.match(r"^\s*(zero|oracle): mean e_trans", line)]
    assert summary == shown, "rerun `python -m rmrl_env.demo` and copy its last figures into the README"


def test_the_readme_command_block_names_every_command_and_calibration_step():
    import argparse

    from rmrl_agents.cli import build_parser

    block = next(b for b in _code_blocks() if b.startswith("rmrl train"))
    listed = {line.split()[1] for line in block.splitlines() if line.startswith("rmrl ")}

    def choices(parser: argparse.ArgumentParser) -> set[str]:
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return set(sub.choices)

    parser = build_parser()
    assert listed == choices(parser)
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    steps = re.search(r"^rmrl calibrate \{([^}]*)\}", block, re.M)
    assert steps is not None and set(steps.group(1).split(",")) == choices(sub.choices["calibrate"])
