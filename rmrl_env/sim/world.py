"""The MuJoCo model of the cell and the low-level state access the sim drivers share.

The arm is stiff and position-controlled (an industrial servo tracks its commanded joint
trajectory to a tenth of a millimetre), so the sim prescribes the arm's joint positions and
velocities at every physics step; the gripper fingers, the plate and their contacts are
simulated dynamically. Everything the error sources change is built into this model, the
*true* cell: TCP mounting and jaw asymmetry through ``MjSpec`` before compiling; the arm's
joint-zero and joint-origin errors and the camera mount on the compiled model. The controller
never sees this model's arm: it plans on the nominal kinematics
(:class:`~rmrl_env.sim.kinematics.ArmKinematics`).
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from rmrl_env.cell import PLATE_LENGTH_M, PLATE_TYPES, PLATE_WIDTH_M, CellLayout, MotionPlan, PlateType, Receptacle, Region
from rmrl_env.errors import ConfigError
from rmrl_env.protocols import PlanarPose, ToolPose, wrap_half_turn
from rmrl_env.sim.assets import scene_path
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.kinematics import ARM_JOINTS, HOME_KEYFRAME, ArmKinematics

CAMERA_NAME = "overhead"
#: fy of the D435 colour stream at 640 x 480 (pixels); sets the render's vertical field of view.
D435_COLOR_FY_PX = 615.0

#: Where a person leaves the plate: 35 x 42.5 cm of the table that the camera sees (every plate
#: corner of every pose at least 40 px inside the frame) and the arm reaches for pick and place
#: at any yaw, and every yaw (a plate looks the same after a half turn, so [-90°, 90°) is every
#: way round). It keeps a plate's diagonal clear of the box, and with the grid's ±12 mm stays in
#: the twin's safety box (y >= -0.40 m). ``tests/env/test_cell_sources.py`` checks reach and view.
DEFAULT_RESET_REGION = Region(x_m=(0.20, 0.55), y_m=(-0.385, 0.04), yaw_rad=(-math.pi / 2, math.pi / 2))


class SimWorld:
    """A compiled cell model with its data and named handles.

    Args:
        errors: error sources; the TCP offset and jaw asymmetry are built into the model.
        image_height: rendered frame height in pixels (sets the camera's field of view).
        calibration_marker: mount the hand-eye calibration board on the gripper
            (:func:`add_calibration_marker`); off for every trial.
    """

    def __init__(self, errors: ErrorSources, image_height: int = 480, calibration_marker: bool = False) -> None:
        spec = mujoco.MjSpec.from_file(str(scene_path()))
        if not isinstance(calibration_marker, bool):
            raise ConfigError(f"calibration_marker must be True or False, got {calibration_marker!r}")
        if calibration_marker:
            add_calibration_marker(spec)
        spec.body("gripper").pos = np.asarray(errors.tcp_offset_mm, dtype=float) / 1000.0
        coupling = spec.equality("finger_coupling")
        data = np.array(coupling.data)
        data[0] = errors.jaw_asymmetry_mm / 1000.0
        coupling.data = data
        # The jaws centre a part midway between the pads: half the asymmetry off the axis.
        spec.site("grasp_centre").pos = np.array([0.0, -errors.jaw_asymmetry_mm / 2000.0, 0.150])
        spec.camera(CAMERA_NAME).fovy = math.degrees(2.0 * math.atan((image_height / 2.0) / D435_COLOR_FY_PX))
        self.model = spec.compile()
        m = self.model
        _perturb_arm(m, errors)
        _move_camera(m, errors)
        self.data = mujoco.MjData(self.model)

        self.arm_qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self.arm_dadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in ARM_JOINTS])
        self.finger_qadr = m.jnt_qposadr[m.joint("finger_left_joint").id]
        self.finger_right_qadr = m.jnt_qposadr[m.joint("finger_right_joint").id]
        self.finger_dadr = m.jnt_dofadr[m.joint("finger_left_joint").id]
        self.finger_range = m.jnt_range[m.joint("finger_left_joint").id].copy()
        self.gripper_actuator = m.actuator("gripper").id
        self.plate_body = m.body("plate").id
        self.plate_qadr = m.jnt_qposadr[m.joint("plate_free").id]
        self.plate_dadr = m.jnt_dofadr[m.joint("plate_free").id]
        self.tcp_site = m.site("tcp").id
        self.grasp_site = m.site("grasp_centre").id
        self.plate_geom = m.geom("plate").id
        self.home_q = m.key(HOME_KEYFRAME).qpos[self.arm_qadr].copy()
        self.plate_type: PlateType = PLATE_TYPES["standard"]
        self._const_scratch: mujoco.MjData | None = None
        #: Whether each geom belongs to the robot (the arm's links, the gripper and its fingers).
        self.robot_geom = m.body_rootid[m.geom_bodyid] == m.body("link_base").id
        self._robot_geoms: list[bool] = self.robot_geom.tolist()
        self._geom_body: list[int] = m.geom_bodyid.tolist()
        self.camera_id = m.camera(CAMERA_NAME).id
        self.jaw_asymmetry_m = errors.jaw_asymmetry_mm / 1000.0

        self.arm_q_cmd = self.home_q.copy()
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

    def robot_contact_force(self) -> tuple[float, tuple[int, int]]:
        """The largest total normal contact force (N) on one part of the robot (a link, the
        gripper housing, a finger) from anything that is not the robot, and where: ``(body of the
        part, geom it touches)`` (:meth:`describe_contact` names them; ``(-1, -1)``: no contact).
        A finger's grip on the plate counts too: the jaws' own squeeze (up to 20 N a pad) stays
        below any collision limit."""
        d = self.data
        if d.ncon == 0:
            return 0.0, (-1, -1)
        # A few contacts a tick: a plain loop, summing each part's forces in contact order (as
        # np.bincount does), beats a dozen small array operations.
        contact, robot, body, efc_force = d.contact, self._robot_geoms, self._geom_body, d.efc_force
        totals: dict[int, float] = {}
        touching: list[int] = []  # the part of each contact between the robot and something else
        last_other: dict[int, int] = {}
        for (g1, g2), address in zip(contact.geom.tolist(), contact.efc_address.tolist(), strict=True):
            if robot[g1] == robot[g2]:
                continue
            part, other = (body[g1], g2) if robot[g1] else (body[g2], g1)
            # With elliptic friction cones a contact's first constraint row is its normal force
            # (what mj_contactForce reports as the wrench's first component).
            totals[part] = totals.get(part, 0.0) + (abs(float(efc_force[address])) if address >= 0 else 0.0)
            touching.append(part)
            last_other[part] = other
        if not touching:
            return 0.0, (-1, -1)
        part = touching[0]
        for p in touching:  # among the touching parts, the first of the largest
            if totals[p] > totals[part]:
                part = p
        return totals[part], (part, last_other[part])

    def describe_contact(self, where: tuple[int, int]) -> str:
        """``"link3 on 'shelf_board'"`` for a :meth:`robot_contact_force` location."""
        part, other = where
        if part < 0:
            return "nothing"
        return f"{self.model.body(part).name} on {self.model.geom(other).name or f'geom {other}'!r}"

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

    def set_plate_type(self, name: str) -> None:
        """Make the plate a plate of type ``name`` (a key of :data:`~rmrl_env.cell.PLATE_TYPES`)."""
        if name not in PLATE_TYPES:
            raise ConfigError(f"unknown plate type {name!r}; valid: {sorted(PLATE_TYPES)}")
        plate = PLATE_TYPES[name]
        if plate == self.plate_type:
            return
        m, g, b = self.model, self.plate_geom, self.plate_body
        half = np.array([PLATE_LENGTH_M, PLATE_WIDTH_M, plate.height_m]) / 2.0
        m.geom_size[g] = half
        m.geom_rbound[g] = float(np.linalg.norm(half))
        m.geom_aabb[g] = np.r_[0.0, 0.0, 0.0, half]
        m.body_mass[b] = plate.mass_kg
        sq = half**2
        m.body_inertia[b] = plate.mass_kg / 3.0 * np.array([sq[1] + sq[2], sq[0] + sq[2], sq[0] + sq[1]])
        # On scratch data, so the cell's state is left alone; mj_setConst computes from qpos0 whatever
        # the scratch held, so one scratch serves every change (tests/env/test_sim_speed.py).
        if self._const_scratch is None:
            self._const_scratch = mujoco.MjData(m)
        mujoco.mj_setConst(m, self._const_scratch)
        self.plate_type = plate

    def put_plate(self, pose: PlanarPose, surface_z_m: float) -> None:
        """Set the plate down at rest on a surface at height ``surface_z_m``."""
        adr = self.plate_qadr
        self.data.qpos[adr : adr + 3] = (pose.x_m, pose.y_m, surface_z_m + self.plate_type.height_m / 2.0 + 1e-4)
        half = pose.yaw_rad / 2.0
        self.data.qpos[adr + 3 : adr + 7] = (math.cos(half), 0.0, 0.0, math.sin(half))
        self.data.qvel[self.plate_dadr : self.plate_dadr + 6] = 0.0

    # -- the gripper --------------------------------------------------------------------------
    def finger_q(self) -> float:
        return float(self.data.qpos[self.finger_qadr])

    def finger_speed(self) -> float:
        return float(abs(self.data.qvel[self.finger_dadr]))

    def set_grip_force(self, grip_force_n: float) -> None:
        """Limit the jaw servo so that each pad squeezes a part with ``grip_force_n`` newtons
        (the finger coupling carries half of the servo's force to the other finger)."""
        self.model.actuator_forcerange[self.gripper_actuator] = (-2.0 * grip_force_n, 2.0 * grip_force_n)

    def set_fingers(self, q: float) -> None:
        """Place both fingers at opening ``q`` (distance of the left pad from the centre)."""
        self.data.qpos[self.finger_qadr] = q
        self.data.qpos[self.finger_right_qadr] = q + self.jaw_asymmetry_m
        self.data.qvel[self.finger_dadr] = 0.0
        self.data.ctrl[self.gripper_actuator] = q

    # -- the cell's geometry, read from the model ---------------------------------------------
    def has_slot(self, name: str) -> bool:
        return mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, f"{name}_slot") >= 0

    def receptacle(self, name: str, clearance_m: float) -> Receptacle:
        site = self.model.site(f"{name}_slot")
        pos = self.data.site_xpos[site.id]
        rot = self.data.site_xmat[site.id].reshape(3, 3)
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        return Receptacle(name, PlanarPose(float(pos[0]), float(pos[1]), yaw), float(pos[2]), clearance_m)

    def slots(self) -> dict[str, Receptacle]:
        """The true slots of this model: box (3 mm clearance) and shelf (1.5 mm)."""
        return {"box": self.receptacle("box", 0.003), "shelf": self.receptacle("shelf", 0.0015)}

    def layout(
        self,
        home: ToolPose | None = None,
        receptacles: dict[str, Receptacle] | None = None,
        reset_region: Region = DEFAULT_RESET_REGION,
        motion: MotionPlan | None = None,
    ) -> CellLayout:
        """The cell layout: ``home`` (default: the nominal FK of the home keyframe, what the
        controller reports there), the receptacles as taught (default: the true slots) and the
        reset region."""
        return CellLayout(
            table_z_m=0.0,
            home=home if home is not None else ArmKinematics().home,
            reset_region=reset_region,
            receptacles=receptacles or self.slots(),
            motion=motion or MotionPlan(),
        )


#: Geom of the hand-eye calibration board's printed face (present only when asked for).
MARKER_GEOM = "calibration_board"
#: The board's bracket on the gripper body (flange frame, z toward the TCP): the printed face's
#: centre, metres. Beside the gripper housing (30 mm half-width along x), 45 mm below the flange,
#: facing away from the TCP (up when the tool points down).
MARKER_CENTRE_M = (0.115, 0.0, 0.045)
#: White margin printed around the board's markers, metres; texture pixels per metre.
_MARKER_MARGIN_M = 0.010
_MARKER_PX_PER_M = 5000


def add_calibration_marker(spec: mujoco.MjSpec) -> None:
    """Mount the hand-eye calibration board on the gripper, as a lab does for the day.

    The board is the CLI's default gripper board (:data:`rmrl_env.perception.hand_eye.GRIPPER_BOARD`),
    drawn by OpenCV now and printed with a white margin onto a flat quad (the texture's pixels are
    exact fractions of the marker size); a thin white plate backs it and a strut joins the
    plate to the housing. All of it is visual only: no contacts, and no mass (the gripper body's
    inertia is given explicitly), so nothing the arm or the fingers do changes.
    """
    from rmrl_env.perception.hand_eye import GRIPPER_BOARD

    board_w, board_h = GRIPPER_BOARD.size_m
    w, h = board_w + 2 * _MARKER_MARGIN_M, board_h + 2 * _MARKER_MARGIN_M
    image = GRIPPER_BOARD.board().generateImage(
        (round(w * _MARKER_PX_PER_M), round(h * _MARKER_PX_PER_M)), marginSize=round(_MARKER_MARGIN_M * _MARKER_PX_PER_M)
    )
    # Rows flipped so that the board reads the right way round from above (mirrored, it would not decode).
    rgb = np.ascontiguousarray(np.repeat(image[::-1, :, None], 3, axis=2))
    spec.add_texture(
        name=MARKER_GEOM, type=mujoco.mjtTexture.mjTEXTURE_2D, width=rgb.shape[1], height=rgb.shape[0], nchannel=3
    ).data = rgb.tobytes()
    material = spec.add_material(name=MARKER_GEOM, specular=0.05, shininess=0.1)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = MARKER_GEOM
    quad = spec.add_mesh(name=MARKER_GEOM, inertia=mujoco.mjtMeshInertia.mjMESH_INERTIA_SHELL)
    # The printed face in the flange frame: long side along y, facing -z (away from the TCP).
    quad.uservert = [-h / 2, -w / 2, 0.0, -h / 2, w / 2, 0.0, h / 2, w / 2, 0.0, h / 2, -w / 2, 0.0]
    quad.usertexcoord = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    quad.userface = [0, 1, 2, 0, 2, 3]
    gripper = spec.body("gripper")
    cx, cy, cz = MARKER_CENTRE_M
    visual = {"contype": 0, "conaffinity": 0, "group": 1, "density": 0.0}
    gripper.add_geom(
        name=MARKER_GEOM, type=mujoco.mjtGeom.mjGEOM_MESH, meshname=MARKER_GEOM, material=MARKER_GEOM,
        pos=[cx, cy, cz], **visual,
    )  # fmt: skip
    grey = [0.55, 0.56, 0.58, 1.0]
    gripper.add_geom(
        name=MARKER_GEOM + "_plate", type=mujoco.mjtGeom.mjGEOM_BOX, size=[h / 2, w / 2, 0.002],
        pos=[cx, cy, cz + 0.0025], rgba=[0.95, 0.95, 0.95, 1.0], **visual,
    )  # fmt: skip
    strut_from = 0.03
    gripper.add_geom(
        name=MARKER_GEOM + "_strut", type=mujoco.mjtGeom.mjGEOM_BOX, size=[(cx - h / 2 - strut_from) / 2 + 0.01, 0.01, 0.004],
        pos=[(strut_from + cx - h / 2) / 2, cy, cz + 0.008], rgba=grey, **visual,
    )  # fmt: skip


def _quat_of_rotvec(rotvec_rad: np.ndarray) -> np.ndarray:
    quat = np.empty(4)
    mujoco.mju_axisAngle2Quat(
        quat, rotvec_rad / max(float(np.linalg.norm(rotvec_rad)), 1e-300), float(np.linalg.norm(rotvec_rad))
    )
    return quat


def _perturb_arm(model: mujoco.MjModel, errors: ErrorSources) -> None:
    """Build the true arm: joint i's frame moved by its origin error and turned about its own
    axis (local z) by its zero offset, so the true joint angle is the commanded one plus it."""
    origins = np.asarray(errors.link_origin_errors_mm, dtype=float).reshape(6, 3) / 1000.0
    for i, name in enumerate(ARM_JOINTS):
        body = model.jnt_bodyid[model.joint(name).id]
        model.body_pos[body] += origins[i]
        turn = np.array([math.cos(math.radians(errors.joint_zero_offsets_deg[i]) / 2.0), 0.0, 0.0, 0.0])
        turn[3] = math.sin(math.radians(errors.joint_zero_offsets_deg[i]) / 2.0)
        quat = np.empty(4)
        mujoco.mju_mulQuat(quat, model.body_quat[body].copy(), turn)
        model.body_quat[body] = quat


def _move_camera(model: mujoco.MjModel, errors: ErrorSources) -> None:
    """Mount the camera of this cell: moved and turned (about its centre, base axes) from ``cell.xml``'s."""
    cam = model.camera(CAMERA_NAME).id
    model.cam_pos[cam] += np.asarray(errors.camera_mount_offset_mm, dtype=float) / 1000.0
    rotvec = np.radians(np.asarray(errors.camera_mount_rot_deg, dtype=float))
    if np.any(rotvec):
        quat = np.empty(4)
        mujoco.mju_mulQuat(quat, _quat_of_rotvec(rotvec), model.cam_quat[cam].copy())
        model.cam_quat[cam] = quat
