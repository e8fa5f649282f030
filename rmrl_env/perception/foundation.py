"""The real cell's default localiser: Grounding DINO box → SAM mask → shared pose math (paper §3.4).

1. Grounding DINO finds the plate's bounding box from a text prompt ("black cell plate").
2. SAM turns the box into a mask; the mask is cut to the box and reduced to its largest
   connected component.
3. :func:`rmrl_env.perception.localise.pose_from_mask` computes the pose: mean depth in the
   mask, deprojection, camera-to-base extrinsics, PCA yaw (the same code as the sim).

Both models come from ``transformers``, loaded from a local directory or a Hugging Face hub id
(downloaded once into the hub cache), and run on the GPU when one is present. The models load
lazily on the first :meth:`FoundationLocaliser.localise`, so building an env stays fast.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from rmrl_env.errors import ConfigError, PlateNotFoundError
from rmrl_env.perception.localise import pose_from_mask
from rmrl_env.protocols import PlateDetection, RGBDFrame, RigidTransform

logger = logging.getLogger(__name__)

DEFAULT_DETECTOR = "IDEA-Research/grounding-dino-tiny"
DEFAULT_SEGMENTER = "facebook/sam-vit-base"
DEFAULT_PROMPT = "black cell plate"
#: Grounding DINO score thresholds of a detection box and of its text match (0-1).
DEFAULT_BOX_THRESHOLD = 0.3
DEFAULT_TEXT_THRESHOLD = 0.25


def pick_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; other values pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _prompt_text(prompt: str) -> str:
    """Grounding DINO expects lower-case phrases ending in a period."""
    text = prompt.strip().lower()
    return text if text.endswith(".") else text + "."


@dataclass
class FoundationModels:
    """The four loaded pieces: detector + its processor, segmenter + its processor."""

    detector: Any
    detector_processor: Any
    segmenter: Any
    segmenter_processor: Any

    @classmethod
    def load(cls, detector: str = DEFAULT_DETECTOR, segmenter: str = DEFAULT_SEGMENTER, device: str = "auto") -> FoundationModels:
        """Load both models from local directories or hub ids and move them to ``device``.

        Raises:
            ConfigError: ``transformers`` is missing or a model cannot be loaded (naming it).
        """
        try:
            from transformers import GroundingDinoForObjectDetection, GroundingDinoProcessor, SamModel, SamProcessor
        except ImportError as err:
            raise ConfigError(f"the foundation localiser needs `transformers` ({err}): `pip install rmrl[real]`") from err
        dev = pick_device(device)
        loaded = []
        for name, model_cls, proc_cls in (
            (detector, GroundingDinoForObjectDetection, GroundingDinoProcessor),
            (segmenter, SamModel, SamProcessor),
        ):
            try:
                model = model_cls.from_pretrained(name).to(dev).eval()
                processor = proc_cls.from_pretrained(name)
            except (OSError, ValueError) as err:
                raise ConfigError(
                    f"could not load {model_cls.__name__} from {name!r}: {err}. Give a local directory with the "
                    "model's files or a hub id, and check the network for a first download "
                    "(perception.detector / perception.segmenter in the config)"
                ) from err
            loaded += [model, processor]
        logger.info("loaded %s and %s on %s", detector, segmenter, dev)
        return cls(*loaded)

    @property
    def device(self) -> Any:
        return next(self.detector.parameters()).device


class FoundationLocaliser:
    """Grounding DINO + SAM plate localiser (implements :class:`~rmrl_env.protocols.Localiser`).

    Args:
        camera_to_base: believed camera-to-base extrinsics (from calibration).
        detector / segmenter: local directory or hub id of each model.
        prompt: the detector's text prompt.
        box_threshold / text_threshold: Grounding DINO score thresholds.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        models: already loaded models (tests build tiny ones); skips loading.
        min_mask_px: fewest mask pixels accepted as a plate.
    """

    def __init__(
        self,
        camera_to_base: RigidTransform,
        detector: str = DEFAULT_DETECTOR,
        segmenter: str = DEFAULT_SEGMENTER,
        prompt: str = DEFAULT_PROMPT,
        box_threshold: float = DEFAULT_BOX_THRESHOLD,
        text_threshold: float = DEFAULT_TEXT_THRESHOLD,
        device: str = "auto",
        models: FoundationModels | None = None,
        min_mask_px: int = 200,
    ) -> None:
        self.camera_to_base = camera_to_base
        self.detector_name = detector
        self.segmenter_name = segmenter
        self.prompt = _prompt_text(prompt)
        self.box_threshold = float(box_threshold)
        self.text_threshold = float(text_threshold)
        self.device = device
        self.min_mask_px = int(min_mask_px)
        self._models = models

    @property
    def models(self) -> FoundationModels:
        if self._models is None:
            self._models = FoundationModels.load(self.detector_name, self.segmenter_name, self.device)
        return self._models

    def detect(self, color: np.ndarray) -> tuple[tuple[float, float, float, float], float]:
        """The best-scoring box ``(x_min, y_min, x_max, y_max)`` in pixels and its score.

        Raises:
            PlateNotFoundError: no box scores above ``box_threshold``.
        """
        import torch

        m = self.models
        h, w = color.shape[:2]
        inputs = m.detector_processor(images=color, text=self.prompt, return_tensors="pt").to(m.device)
        with torch.no_grad():
            outputs = m.detector(**inputs)
        results = m.detector_processor.post_process_grounded_object_detection(
            outputs, inputs["input_ids"], threshold=self.box_threshold, text_threshold=self.text_threshold, target_sizes=[(h, w)]
        )[0]
        scores = results["scores"].detach().cpu().numpy()
        if scores.size == 0:
            raise PlateNotFoundError(
                f"Grounding DINO found no {self.prompt!r} above box_threshold {self.box_threshold}: check that the plate "
                "is in view and lit, or lower perception.box_threshold"
            )
        best = int(np.argmax(scores))
        box = results["boxes"][best].detach().cpu().numpy().astype(np.float64)
        x0, y0 = np.clip(box[:2], 0, [w - 1, h - 1])
        x1, y1 = np.clip(box[2:], 0, [w - 1, h - 1])
        if x1 - x0 < 2 or y1 - y0 < 2:
            raise PlateNotFoundError(f"Grounding DINO's best box {box.round(1).tolist()} is degenerate")
        return (float(x0), float(y0), float(x1), float(y1)), float(scores[best])

    def segment(self, color: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """SAM's mask for ``box`` (bool, H×W), cut to the box, largest connected component."""
        import torch

        m = self.models
        inputs = m.segmenter_processor(images=color, input_boxes=[[list(box)]], return_tensors="pt").to(m.device)
        with torch.no_grad():
            outputs = m.segmenter(**inputs, multimask_output=True)
        masks = m.segmenter_processor.image_processor.post_process_masks(
            outputs.pred_masks.cpu(), inputs["original_sizes"].cpu(), inputs["reshaped_input_sizes"].cpu()
        )[0]  # (boxes, candidates, H, W)
        iou = outputs.iou_scores.detach().cpu().numpy().reshape(-1)
        mask = masks.reshape(-1, *masks.shape[-2:])[int(np.argmax(iou))].numpy().astype(bool)
        return clean_mask(mask, box)

    def localise(self, frame: RGBDFrame) -> PlateDetection:
        """Detect, segment and localise the plate in ``frame``.

        Raises:
            PlateNotFoundError: no box, an empty mask, or too little valid depth.
        """
        box, score = self.detect(frame.color)
        mask = self.segment(frame.color, box)
        if int(mask.sum()) < self.min_mask_px:
            raise PlateNotFoundError(
                f"SAM's mask of the detected box {np.round(box, 1).tolist()} (score {score:.2f}) has {int(mask.sum())} "
                f"pixels, fewer than {self.min_mask_px}"
            )
        return pose_from_mask(frame, mask, self.camera_to_base)


def clean_mask(mask: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Keep the part of ``mask`` inside ``box`` and, of that, the largest connected component."""
    h, w = mask.shape
    x0, y0, x1, y1 = box
    inside = np.zeros_like(mask, dtype=bool)
    inside[max(0, int(np.floor(y0))) : min(h, int(np.ceil(y1)) + 1), max(0, int(np.floor(x0))) : min(w, int(np.ceil(x1)) + 1)] = (
        True
    )
    cut = (mask & inside).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cut, connectivity=8)
    if n <= 1:
        return np.zeros_like(mask, dtype=bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest
