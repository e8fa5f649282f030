"""The MuJoCo model of the cell and the low-level state access the sim drivers share.

The arm is stiff and position-controlled (an industrial servo tracks its commanded joint
trajectory to a tenth of a millimetre), so the sim prescribes the arm's joint positions and
velocities at every physics step; the gripper fingers, the plate and their contacts are
simulated dynamically. Everything the error sources change (TCP mounting, jaw asymmetry) is
applied to the MJCF through ``MjSpec`` before compiling.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from rmrl_env.cell import PLATE_HEIGHT_M, CellLayout, MotionPlan, Receptacle, Region
from rmrl_env.protocols import PlanarPose, ToolPose, wrap_half_turn
from rmrl_env.sim.assets import scene_path
from rmrl_env.sim.error_sources import ErrorSources

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 7))
CAMERA_NAME = "overhead"
#: fy of the D435 colour stream at 640 x 480 (pixels); sets the render's vertical field of view.
D435_COLOR_FY_PX = 615.0

DEFAULT_HOME = ToolPose(0.15, 0.0, 0.30, 0.0)
DEFAULT_RESET_REGION = Region(x_m=(0.33, 0.48), y_m=(-0.30, -0.12), yaw_rad=(math.radians(-15), math.radians(15)))


class SimWorld:
    """A compiled cell model with its data and named handles.

    Args:
        errors: error sources; the TCP offset and jaw asymmetry are built into the model.
        image_height: rendered frame height in pixels (sets the camera's field of view).
    """

    def __init__(self, errors: ErrorSources, image_height: int = 480) -> None:
        spec = mujoco.MjSpec.from_file(str(scene_path()))
        spec.body("gripper").pos = np.asarray(errors.tcp_offset_mm, dtype=float) / 1000.0
        coupling = spec.equality("finger_coupling")
        data = np.array(coupling.data)
        data[0] = errors.jaw_asymmetry_mm / 1000.0
        coupling.data = data
        spec.camera(CAMERA_NAME).fovy = math.degrees(2.0 * math.atan((image_height / 2.0) / D435_COLOR_FY_PX))
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        m = self.model

        self.arm_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self.arm_dadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in ARM_JOINTS])
        self.arm_range = np.array([m.jnt_range[m.joint(n).id] for n in ARM_JOINTS])
        self.finger_qadr = m.jnt_qposadr[m.joint("finger_left_joint").id]
        self.finger_right_qadr = m.jnt_qposadr[m.joint("finger_right_joint").id]
        self.finger_dadr = m.jnt_dofadr[m.joint("finger_left_joint").id]
        self.finger_range = m.jnt_range[m.joint("finger_left_joint").id].copy()
        self.gripper_actuator = m.actuator("gripper").id
        self.plate_body = m.body("plate").id
        self.plate_qadr = m.jnt_qposadr[m.joint("plate_free").id]
        self.plate_dadr = m.jnt_dofadr[m.joint("plate_free").id]
        self.tcp_site = m.site("tcp").id
        self.pad_geoms = (m.geom("finger_left_pad").id, m.geom("finger_right_pad").id)
        self.camera_id = m.camera(CAMERA_NAME).id
        self.jaw_asymmetry_m = errors.jaw_asymmetry_mm / 1000.0

        self.arm_q_cmd = np.zeros(6)
        self.arm_qd_cmd = np.zeros(6)
        mujoco.mj_forward(m, self.data)

    # -- stepping -----------------------------------------------------------------------------
    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    def hold_arm(self, q: np.ndarray, qd: np.ndarray | None = None) -> None:
        """Set the arm's commanded joint positions (rad) and velocities (rad/s)."""
        self.arm_q_cmd[:] = q
        self.arm_qd_cmd[:] = 0.0 if qd is None else qd
        self.data.qpos[self.arm_qadr] = self.arm_q_cmd
        self.data.qvel[self.arm_dadr] = self.arm_qd_cmd

    def step(self, n: int = 1) -> None:
        """Advance the physics by ``n`` steps with the arm on its commanded trajectory."""
        m, d = self.model, self.data
        for _ in range(n):
            d.qpos[self.arm_qadr] = self.arm_q_cmd
            d.qvel[self.arm_dadr] = self.arm_qd_cmd
            mujoco.mj_step(m, d)
        d.qpos[self.arm_qadr] = self.arm_q_cmd
        d.qvel[self.arm_dadr] = self.arm_qd_cmd

    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def reset_state(self) -> None:
        """Clear every dynamic state (velocities, solver warm starts, time) for a fresh trial.

        Trials are then independent of the ones before them, and a seed reproduces a trial.
        """
        q_cmd = self.arm_q_cmd.copy()
        mujoco.mj_resetData(self.model, self.data)
        self.hold_arm(q_cmd)

    def pad_contact_force(self) -> tuple[float, str]:
        """The larger total normal contact force (N) on one finger pad, and what it touches."""
        m, d = self.model, self.data
        totals = [0.0, 0.0]
        other = ["", ""]
        wrench = np.zeros(6)
        for i in range(d.ncon):
            contact = d.contact[i]
            for k, pad in enumerate(self.pad_geoms):
                if pad in (contact.geom1, contact.geom2):
                    mujoco.mj_contactForce(m, d, i, wrench)
                    totals[k] += abs(float(wrench[0]))
                    touched = contact.geom2 if contact.geom1 == pad else contact.geom1
                    other[k] = m.geom(touched).name or f"geom {touched}"
        k = int(np.argmax(totals))
        return totals[k], other[k]

    # -- the plate ----------------------------------------------------------------------------
    def plate_pose(self) -> PlanarPose:
        """The plate's true planar pose; yaw of its long axis, wrapped to [-pi/2, pi/2)."""
        pos = self.data.xpos[self.plate_body]
        rot = self.data.xmat[self.plate_body].reshape(3, 3)
        return PlanarPose(float(pos[0]), float(pos[1]), wrap_half_turn(math.atan2(rot[1, 0], rot[0, 0])))

    def plate_height_z(self) -> float:
        """Height of the plate's centre, metres."""
        return float(self.data.xpos[self.plate_body][2])

    def plate_tilt_rad(self) -> float:
        """Angle between the plate's normal and the vertical."""
        rot = self.data.xmat[self.plate_body].reshape(3, 3)
        return float(math.acos(max(-1.0, min(1.0, rot[2, 2]))))

    def put_plate(self, pose: PlanarPose, surface_z_m: float) -> None:
        """Set the plate down at rest on a surface at height ``surface_z_m``."""
        adr = self.plate_qadr
        self.data.qpos[adr : adr + 3] = (pose.x_m, pose.y_m, surface_z_m + PLATE_HEIGHT_M / 2.0 + 1e-4)
        half = pose.yaw_rad / 2.0
        self.data.qpos[adr + 3 : adr + 7] = (math.cos(half), 0.0, 0.0, math.sin(half))
        self.data.qvel[self.plate_dadr : self.plate_dadr + 6] = 0.0

    # -- the gripper --------------------------------------------------------------------------
    def finger_q(self) -> float:
        return float(self.data.qpos[self.finger_qadr])

    def finger_speed(self) -> float:
        return float(abs(self.data.qvel[self.finger_dadr]))

    def set_fingers(self, q: float) -> None:
        """Place both fingers at opening ``q`` (distance of the left pad from the centre)."""
        self.data.qpos[self.finger_qadr] = q
        self.data.qpos[self.finger_right_qadr] = q + self.jaw_asymmetry_m
        self.data.qvel[self.finger_dadr] = 0.0
        self.data.ctrl[self.gripper_actuator] = q

    # -- the cell's geometry, read from the model ---------------------------------------------
    def receptacle(self, name: str, clearance_m: float) -> Receptacle:
        site = self.model.site(f"{name}_slot")
        pos = self.data.site_xpos[site.id]
        rot = self.data.site_xmat[site.id].reshape(3, 3)
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        return Receptacle(name, PlanarPose(float(pos[0]), float(pos[1]), yaw), float(pos[2]), clearance_m)

    def layout(
        self, home: ToolPose = DEFAULT_HOME, reset_region: Region = DEFAULT_RESET_REGION, motion: MotionPlan | None = None
    ) -> CellLayout:
        """The cell layout of this model: box (3 mm clearance) and shelf (1.5 mm) slots."""
        return CellLayout(
            table_z_m=0.0,
            home=home,
            reset_region=reset_region,
            receptacles={"box": self.receptacle("box", 0.003), "shelf": self.receptacle("shelf", 0.0015)},
            motion=motion or MotionPlan(),
        )
