"""docs/real_cell.md holds what day one needs: the runbook table as the code has it, the
pre-flight checklist with values, the bring-up command, the libusb note for the twin, and only
rehearsal tests that exist."""

from __future__ import annotations

import re

from rmrl_env.real.runbook import RUNBOOK, markdown_table

from .conftest import REPO

DOCS = (REPO / "docs" / "real_cell.md").read_text()


def test_the_docs_hold_the_runbook_table_of_the_code():
    assert markdown_table() in DOCS, "docs/real_cell.md's runbook is stale: paste rmrl_env.real.runbook.markdown_table()"
    listed = {"C22", "C31", "C23", "C40", "gripper", "camera", "report silence", "plate not found", "plate not flat"}
    assert listed <= set(RUNBOOK)


def test_the_checklist_has_values_and_the_bring_up_command_is_there():
    checklist = DOCS[DOCS.index("## Pre-flight checklist") : DOCS.index("## Teaching the poses")]
    for needle in (
        "payload_kg",
        "0.78 kg",
        "collision_sensitivity = 3",
        "Safety boundary",
        "Reduced mode",
        "250 mm/s",
        "Emergency stop",
        "recover()",
    ):
        assert needle in checklist, needle
    assert "rmrl bringup --config real_cell.toml" in DOCS
    twin = DOCS[DOCS.index("## Step 0") : DOCS.index("## Hardware")]
    assert "libusb" in twin


def test_every_rehearsal_the_docs_name_exists():
    for path, test in re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", DOCS):
        text = (REPO / path).read_text()
        assert not test or f"def {test}(" in text, f"{path}::{test} named in the docs does not exist"
