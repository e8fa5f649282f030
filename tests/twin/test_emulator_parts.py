"""The emulator's pieces without sockets: motion timing, framing, kinematics, gripper registers
and the controller's latched-error semantics."""

from __future__ import annotations

import itertools
import math
import struct

import numpy as np
import pytest

from rmrl_env.motion_profile import Trapezoid
from rmrl_env.twin.xarm_emulator import framing
from rmrl_env.twin.xarm_emulator.controller import Controller
from rmrl_env.twin.xarm_emulator.gripper import BioGripperModel
from rmrl_env.twin.xarm_emulator.kinematics import NominalKinematics, matrix_to_rpy, rpy_to_matrix


@pytest.fixture(scope="module")
def kin() -> NominalKinematics:
    return NominalKinematics()


def test_trapezoid_and_triangle_timing():
    long = Trapezoid(300.0, 100.0, 500.0)  # reaches 100 mm/s after 0.2 s / 10 mm
    assert long.duration == pytest.approx(300.0 / 100.0 + 100.0 / 500.0)
    assert long.position(0.1) == pytest.approx(0.5 * 500.0 * 0.01)
    assert long.position(long.duration) == 300.0 and long.position(long.duration / 2) == pytest.approx(150.0)
    short = Trapezoid(4.0, 100.0, 500.0)  # never reaches cruise speed
    assert short.peak_speed == pytest.approx(math.sqrt(4.0 * 500.0))
    assert short.duration == pytest.approx(2.0 * math.sqrt(4.0 / 500.0))
    samples = [short.position(t) for t in np.linspace(0, short.duration, 50)]
    assert all(b >= a for a, b in itertools.pairwise(samples))
    assert Trapezoid(0.0, 1.0, 1.0).duration == 0.0
    with pytest.raises(ValueError, match="speed and acceleration must be > 0"):
        Trapezoid(1.0, 0.0, 1.0)


def test_framing_splits_partial_streams_and_builds_replies():
    req = struct.pack(">HHHB", 7, 2, 3, 12) + bytes([0, 4])
    frames, rest = framing.split_frames(req + req[:5])
    assert len(frames) == 1 and rest == req[:5]
    assert frames[0] == framing.Request(7, 2, 12, bytes([0, 4]))
    reply = framing.reply_frame(frames[0], framing.FLAG_ERROR, b"\x02")
    assert reply == struct.pack(">HHHBBB", 7, 2, 3, 12, 0x40, 2)
    assert framing.read_f32(framing.f32([1.5, -2.0]), 2) == [1.5, -2.0]
    with pytest.raises(ValueError, match="length 0"):
        framing.split_frames(struct.pack(">HHH", 1, 2, 0) + b"\0")


def test_nominal_kinematics_zero_pose_and_round_trip(kin):
    zero = kin.forward(np.zeros(6))  # the xArm 6's published zero pose (flange)
    assert zero[:3] == pytest.approx([207.0, 0.0, 112.0], abs=1e-4)
    assert zero[3:] == pytest.approx([math.pi, 0.0, 0.0], abs=1e-6)
    kin.set_tcp_offset([10.0, -5.0, 172.0, 0.0, 0.0, 0.0])
    try:
        pose = [320.0, -80.0, 140.0, math.pi, 0.0, math.radians(40)]
        q = kin.inverse(pose, np.zeros(6))
        assert q is not None and kin.within_limits(q)
        assert kin.forward(q) == pytest.approx(pose, abs=1e-3)
        tilted = [330.0, -60.0, 180.0, math.pi - 0.35, 0.25, math.radians(-20)]  # as a hand-eye view tilts it
        q_tilted = kin.inverse(tilted, q)
        assert q_tilted is not None and kin.within_limits(q_tilted)
        assert kin.forward(q_tilted)[:3] == pytest.approx(tilted[:3], abs=1e-3)
        assert np.allclose(rpy_to_matrix(*kin.forward(q_tilted)[3:]), rpy_to_matrix(*tilted[3:]), atol=1e-5)
        assert kin.inverse([2000.0, 0.0, 140.0, math.pi, 0.0, 0.0], q) is None  # out of reach
    finally:
        kin.set_tcp_offset([0.0] * 6)
    rot = rpy_to_matrix(0.3, -0.2, 1.1)
    assert matrix_to_rpy(rot) == pytest.approx((0.3, -0.2, 1.1))


def test_gripper_models_answer_as_the_sdk_tells_them_apart():
    read_sn = bytes([0x08, 0x03, 0x0B, 0x10, 0x00, 0x10])
    assert BioGripperModel("bio").handle(read_sn) == bytes([0x08, 0x83, 0x02])  # illegal address
    g2 = BioGripperModel("bio_g2", object_width_mm=80.0)
    assert len(g2.handle(read_sn)) == 3 + 32
    assert g2.handle(bytes([0x08, 0x06, 0x01, 0x00, 0x00, 0x01])) == bytes([0x08, 0x06, 0x01, 0x00, 0x00, 0x01])
    close = bytes([0x08, 0x10, 0x07, 0x00, 0x00, 0x02, 0x04]) + struct.pack(">i", 0)
    assert g2.handle(close)[:6] == close[:6]
    assert g2.handle(bytes([0x08, 0x03, 0x00, 0x00, 0x00, 0x01]))[-1] & 0x03 == 1  # moving
    for _ in range(100):
        g2.advance(0.02)
    assert g2.opening_mm == pytest.approx(80.0) and g2.caught
    assert g2.handle(bytes([0x08, 0x03, 0x00, 0x00, 0x00, 0x01]))[-1] == 0b1010  # enabled, caught


class RecordingJaws:
    """Jaws that only record how they were driven."""

    def __init__(self) -> None:
        self.calls: list[tuple[float | None, float, int]] = []

    def drive(self, target_mm: float | None, speed_mm_s: float, force_pct: int) -> None:
        self.calls.append((target_mm, speed_mm_s, force_pct))

    def opening_mm(self) -> float:
        return 150.0

    def stalled(self) -> bool:
        return False


def test_the_g2_force_register_reaches_the_physical_jaws_and_the_original_bio_grips_with_its_maximum():
    g2_jaws, bio_jaws = RecordingJaws(), RecordingJaws()
    g2, bio = BioGripperModel("bio_g2", jaws=g2_jaws), BioGripperModel("bio", jaws=bio_jaws)
    for model in (g2, bio):
        model.handle(bytes([0x08, 0x06, 0x01, 0x00, 0x00, 0x01]))  # enable
    assert g2.handle(bytes([0x08, 0x06, 0x05, 0x06, 0x00, 30]))[:6] == bytes([0x08, 0x06, 0x05, 0x06, 0x00, 30])  # force 30 %
    g2.advance(0.01)
    bio.advance(0.01)
    assert g2_jaws.calls[-1][2] == 30
    assert bio_jaws.calls[-1][2] == 100


def test_the_twins_jaws_squeeze_with_the_registers_share_of_20_n():
    from rmrl_env.sim.error_sources import ErrorSources
    from rmrl_env.twin.physics import TwinPhysics

    physics = TwinPhysics(ErrorSources.ideal())
    act = physics.world.gripper_actuator
    assert tuple(physics.world.model.actuator_forcerange[act]) == (-40.0, 40.0)  # 20 N a pad by default
    physics.drive(100.0, 50.0, 30)
    assert tuple(physics.world.model.actuator_forcerange[act]) == pytest.approx((-12.0, 12.0))  # 6 N a pad


def test_controller_latches_errors_until_cleaned_and_restarted(kin):
    ctl = Controller(kin)
    assert ctl.status_flags() == framing.FLAG_NOT_READY  # powered up stopped
    ctl.set_state(0)
    assert ctl.state == 2 and ctl.status_flags() == 0
    ctl.latch_error(31)
    ctl.latch_warning(11)
    assert ctl.state == 4
    ctl.clean_warn()
    assert ctl.status_flags() == framing.FLAG_ERROR | framing.FLAG_NOT_READY  # SDK: clean_warn -> 1
    ctl.set_state(0)
    assert ctl.state == 4, "no restart while an error is latched"
    ctl.clean_error()
    ctl.set_state(0)
    assert ctl.state == 2 and ctl.status_flags() == 0
