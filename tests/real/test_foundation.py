"""Grounding DINO + SAM localiser with tiny random-weight models loaded from local directories."""

from __future__ import annotations

import numpy as np
import pytest

from rmrl_env.errors import PlateNotFoundError
from rmrl_env.perception import foundation
from rmrl_env.perception.foundation import FoundationLocaliser, FoundationModels, clean_mask, pick_device
from rmrl_env.perception.localise import pose_from_mask
from rmrl_env.protocols import CameraIntrinsics, Localiser, RGBDFrame, RigidTransform

INTR = CameraIntrinsics(640, 480, 615.0, 615.0, 320.0, 240.0)
CAM_TO_BASE = RigidTransform(np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]), np.array([0.45, 0.0, 1.0]))


def plate_frame() -> RGBDFrame:
    color = np.full((480, 640, 3), 215, np.uint8)
    color[180:300, 230:420] = 15  # a black plate
    depth = np.full((480, 640), 1.0, np.float32)
    depth[180:300, 230:420] = 1.0 - 0.01435
    return RGBDFrame(color, depth, INTR)


@pytest.fixture(scope="module")
def models(tiny_model_dirs) -> FoundationModels:
    det, sam = tiny_model_dirs
    return FoundationModels.load(str(det), str(sam), device="auto")


def test_models_load_from_local_directories_on_the_available_device(models):
    assert pick_device("auto") in ("cpu", "cuda")
    assert str(models.device).startswith(pick_device("auto"))
    assert models.detector.config.d_model == 32


def test_detect_segment_localise_run_through_the_shared_pose_math(models, monkeypatch):
    loc = FoundationLocaliser(
        CAM_TO_BASE, prompt="Black cell plate", box_threshold=0.0, text_threshold=0.0, models=models, min_mask_px=1
    )
    assert isinstance(loc, Localiser)
    assert loc.prompt == "black cell plate."
    frame = plate_frame()
    box, score = loc.detect(frame.color)
    x0, y0, x1, y1 = box
    assert 0 <= x0 < x1 <= 639 and 0 <= y0 < y1 <= 479 and 0.0 <= score <= 1.0
    mask = loc.segment(frame.color, box)
    assert mask.shape == (480, 640) and mask.dtype == bool
    vs, us = np.nonzero(mask)
    if us.size:
        assert us.min() >= np.floor(x0) and us.max() <= np.ceil(x1) and vs.min() >= np.floor(y0) and vs.max() <= np.ceil(y1)

    seen = {}

    def spy(frame_, mask_, cam_to_base):
        seen["mask"] = mask_
        return pose_from_mask(frame_, mask_, cam_to_base, min_valid_depth_px=1)

    monkeypatch.setattr(foundation, "pose_from_mask", spy)
    try:
        detection = loc.localise(frame)
    except PlateNotFoundError as err:  # random weights may give an empty mask: the error says so
        assert "mask" in str(err)
    else:
        np.testing.assert_array_equal(detection.mask, seen["mask"])
        np.testing.assert_array_equal(seen["mask"], mask)


def test_no_box_above_threshold_is_plate_not_found(models):
    loc = FoundationLocaliser(CAM_TO_BASE, box_threshold=1.01, models=models)
    with pytest.raises(PlateNotFoundError, match="box_threshold"):
        loc.localise(plate_frame())


def test_clean_mask_keeps_the_largest_component_inside_the_box():
    mask = np.zeros((50, 60), bool)
    mask[10:20, 10:30] = True  # the plate
    mask[30:32, 40:42] = True  # a speck inside the box
    mask[0:50, 55:60] = True  # bleeding outside the box
    out = clean_mask(mask, (5.0, 5.0, 50.0, 40.0))
    assert out.sum() == 200 and out[15, 20] and not out[31, 41] and not out[:, 55:].any()
    assert not clean_mask(np.zeros((10, 10), bool), (0, 0, 9, 9)).any()


def test_missing_model_directory_is_a_clear_error(tmp_path):
    from rmrl_env.errors import ConfigError

    with pytest.raises(ConfigError, match="could not load GroundingDinoForObjectDetection"):
        FoundationModels.load(str(tmp_path / "nope"), str(tmp_path / "nope2"), device="cpu")
