"""An xArm 6 controller emulator (with a BIO gripper) that the unmodified xArm SDK talks to.

Modules: :mod:`.framing` (wire format of port 502), :mod:`.handlers` (one handler per command
register), :mod:`.controller` (state machine, latched errors, motion queue), :mod:`.report`
(the report stream on port 30002), :mod:`.gripper` (BIO gripper registers), :mod:`.kinematics`
(nominal FK/IK and frames), :mod:`.motion` (trapezoid timing, braking, the motion sink),
:mod:`.planning` (joint and linear trajectories), :mod:`.collision` (a wrong payload's effect on
collision detection) and :mod:`.server` (sockets, lifecycle, firmware generations).

Typical use in a test::

    with XArmEmulator() as emu:
        api = XArmAPI(emu.host)
        ...
"""

from rmrl_env.twin.xarm_emulator.motion import MotionSink, RecordingSink, Trapezoid
from rmrl_env.twin.xarm_emulator.server import FIRMWARE_VERSION, FIRMWARES, NEWEST_FIRMWARE, OLD_FIRMWARE, XArmEmulator

__all__ = [
    "FIRMWARES",
    "FIRMWARE_VERSION",
    "NEWEST_FIRMWARE",
    "OLD_FIRMWARE",
    "MotionSink",
    "RecordingSink",
    "Trapezoid",
    "XArmEmulator",
]
