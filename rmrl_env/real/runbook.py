"""The real cell's runbook: for each error an operator meets, what it means, what the software
does about it, and what the operator does. ``rmrl bringup`` prints the entry of the error that
stopped a stage; docs/real_cell.md holds the same table (a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass

from rmrl_env.errors import (
    ControllerError,
    PlateNotFoundError,
    SafetyError,
    UnreachableError,
)


@dataclass(frozen=True)
class Entry:
    """One row of the runbook."""

    error: str
    meaning: str
    software: str
    operator: str


_STOPS = "stops the arm (stop state, motors holding, gripper left as it is) and refuses motions until recover()"

RUNBOOK: dict[str, Entry] = {
    "C1/C2/C3": Entry(
        "C1, C2, C3 emergency stop",
        "an emergency-stop button or input is pressed or open",
        f"{_STOPS}; recover() reports the e-stop while it stays pressed",
        "make the cell safe, release the button, then run the stage again (connect runs recover())",
    ),
    "C22": Entry(
        "C22 self-collision",
        "the controller predicts the arm would hit itself",
        f"{_STOPS}; a trial ends with failure 'collision'",
        "jog the arm clear in manual mode (UFactory Studio), check home and the receptacle poses, run again",
    ),
    "C23": Entry(
        "C23 joint limit",
        "a joint angle exceeds its limit",
        _STOPS,
        "send the arm to its initial position from UFactory Studio, check home_joints_deg and the poses",
    ),
    "C24": Entry(
        "C24 speed limit",
        "a commanded speed exceeds the controller's limit",
        _STOPS,
        "lower the [motion] speeds or safety.max_acceleration_m_s2, run again",
    ),
    "C31": Entry(
        "C31 collision (abnormal current)",
        "the joint currents differ from the model: a real collision, or a wrong payload / sensitivity",
        f"{_STOPS}; a trial ends with failure 'collision', opens the jaws and backs off",
        "look for what was hit; if nothing, weigh the tool and fix robot.payload_kg / payload_com_m, "
        "or lower robot.collision_sensitivity by one",
    ),
    "C35": Entry(
        "C35 safety boundary",
        "the arm reached the controller's own safety boundary",
        _STOPS,
        "jog the arm back inside in manual mode; make the boundary in UFactory Studio a little larger than safety.workspace",
    ),
    "C40": Entry(
        "C40 no joint trajectory",
        "the controller found no error-free joint path to the pose",
        f"{_STOPS}; reachability is checked before a trial, so this is rare",
        "change the pose or its yaw (receptacle yaw, home), check the calibration",
    ),
    "gripper": Entry(
        "gripper fault (BIO gripper error code)",
        "the gripper reports an error: jammed jaws, overload, or a lost tool-bus link (C19/C28)",
        f"{_STOPS}; the error names the gripper's code",
        "clear what jams the jaws, check the tool cable, clear the fault in UFactory Studio, run again",
    ),
    "camera": Entry(
        "camera: no frames / not found",
        "the D435 sends no frames, or is not on the USB bus",
        "waits for frames, resets the camera (hardware_reset) and waits for it to come back, then gives up",
        "check the USB 3 cable and port (rs-enumerate-devices), camera.serial, that no other program uses it",
    ),
    "report silence": Entry(
        "no report on port 30002",
        "the controller's state stream stopped: the arm's state and errors are unknown",
        f"{_STOPS} before the next motion",
        "check the Ethernet link and that TCP port 30002 is not firewalled, then reconnect",
    ),
    "connection": Entry(
        "controller unreachable / does not answer",
        "no TCP connection to robot.ip, or a port that accepts and never answers",
        "gives up after robot.connect_timeout_s (plus 0.5 s), leaving nothing connected",
        "check the controller is on, the cable, `ping` robot.ip, that robot.ip is the controller",
    ),
    "plate not found": Entry(
        "plate not found",
        "the localiser sees no plate in the camera frame",
        "retries perception.localise_attempts captures, then reports it; the arm does not move",
        "put the plate in the reset area, in the camera's view, on a clear table; check lighting and the calibration",
    ),
    "plate not flat": Entry(
        "plate on an end, on a rim, or upside down",
        "the plate's top is too high, or tilted, for a plate lying flat",
        "reports the trial as 'not_flat'; the reset stage re-grasps or asks for help",
        "lay the plate flat, right side up, in the reset area",
    ),
    "grasp": Entry(
        "grasp missed / plate dropped",
        "the jaws closed on nothing, at a width that is not the plate's, or the plate slipped out",
        "the trial ends as 'grasp_missed' or 'dropped'; the next reset finds the plate with the camera",
        "measure the TCP again (robot.tcp_offset_m), check the calibration and gripper.force, run again",
    ),
    "workspace": Entry(
        "outside the workspace box / speed refused",
        "a pose or speed the software refused before sending anything",
        "sends nothing; the arm stays where it is",
        "check the calibration and poses, or widen safety.workspace if the cell allows it",
    ),
    "unreachable": Entry(
        "no inverse-kinematics solution",
        "a pose of the trial is out of the arm's reach",
        "the trial ends as 'unreachable' before any motion",
        "check the receptacle poses, the reset area and the calibration",
    ),
    "ctrl-c": Entry(
        "Ctrl-C",
        "the operator interrupted",
        "stops the arm from another thread within 0.1 s (twin), leaves the gripper as it is",
        "run recover() (or the stage again) when the cell is safe",
    ),
}

#: Runbook entry of a controller error code.
_CONTROLLER_CODES = {
    **dict.fromkeys((1, 2, 3), "C1/C2/C3"),
    **{code: f"C{code}" for code in (22, 23, 24, 31, 35, 40)},
    **dict.fromkeys((19, 28), "gripper"),
}


def entry_key(err: BaseException, default: str | None = None) -> str | None:
    """The runbook key for ``err`` (``default``, e.g. the stage's device, when nothing fits)."""
    if isinstance(err, KeyboardInterrupt):
        return "ctrl-c"
    if isinstance(err, ControllerError) and err.error_code in _CONTROLLER_CODES:
        return _CONTROLLER_CODES[err.error_code]
    if isinstance(err, PlateNotFoundError):
        return "plate not found"
    if isinstance(err, SafetyError):
        return "workspace"
    if isinstance(err, UnreachableError):
        return "unreachable"
    text = str(err)
    for needle, key in (
        ("no report on port", "report silence"),
        ("BIO gripper", "gripper"),
        ("unreachable", "connection"),
        ("did not answer", "connection"),
    ):
        if needle in text:
            return key
    return default


def markdown_table() -> str:
    """The runbook as the Markdown table in docs/real_cell.md."""
    rows = ["| Error | Meaning | What the software does | What the operator does |", "|---|---|---|---|"]
    rows += [f"| {e.error} | {e.meaning} | {e.software} | {e.operator} |" for e in RUNBOOK.values()]
    return "\n".join(rows)
