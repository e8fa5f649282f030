"""Render docs/scene.png: the simulated cell mid-transport, and what the overhead camera sees.

Usage: ``python docs/render_scene.py [--out docs/scene.png]``
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import gymnasium as gym
import mujoco
import numpy as np

import rmrl_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("scene.png")))
    args = parser.parse_args()

    env = gym.make("CellPlatePlace-sim-v0").unwrapped
    _obs, _info = env.reset(seed=7)
    drivers = env.backend.drivers
    world = drivers.arm.world

    # Left: what the localiser sees, with its mask and estimated pose.
    frame = drivers.camera.capture()
    det = drivers.localiser.localise(frame)
    cam_view = frame.color.copy()
    contours, _ = cv2.findContours(det.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(cam_view, contours, -1, (255, 60, 40), 2)
    u0, v0, u1, v1 = det.bbox_px
    cv2.rectangle(cam_view, (u0, v0), (u1, v1), (40, 200, 255), 1)
    cv2.putText(cam_view, "overhead D435 view: mask, box, P^e", (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 20, 20), 2)
    cv2.putText(
        cam_view,
        f"P^e = ({det.pose.x_m * 1000:.1f}, {det.pose.y_m * 1000:.1f}) mm, {math.degrees(det.pose.yaw_rad):.1f} deg",
        (10, 470),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.55,
        (20, 20, 20),
        2,
    )

    # Right: the cell from the side while the arm carries the plate toward the box.
    routine = env.routine
    wp = routine.plan(det.pose, 0.0, env.receptacle.pose, env.receptacle.floor_z_m)
    drivers.gripper.open()
    drivers.arm.move_to(wp["pre_grasp"], 0.25, linear=False)
    drivers.arm.move_to(wp["grasp"], 0.1)
    drivers.gripper.close()
    drivers.arm.move_to(wp["lift"], 0.3)
    mid = rmrl_env.ToolPose(0.5 * (wp["lift"].x_m + wp["pre_place"].x_m), 0.5 * (wp["lift"].y_m + wp["pre_place"].y_m), 0.16, 0.0)
    drivers.arm.move_to(mid, 0.4)
    renderer = mujoco.Renderer(world.model, height=480, width=640)
    cam = mujoco.MjvCamera()
    cam.lookat[:] = (0.33, 0.0, 0.12)
    cam.distance, cam.azimuth, cam.elevation = 1.25, -145.0, -28.0
    renderer.update_scene(world.data, camera=cam)
    side = renderer.render().copy()
    cv2.putText(
        side,
        "MuJoCo twin: xArm 6, BIO-like gripper, plate, box, shelf",
        (10, 24),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.55,
        (20, 20, 20),
        2,
    )

    image = np.concatenate([side, cam_view], axis=1)
    cv2.imwrite(args.out, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")


if __name__ == "__main__":
    main()
