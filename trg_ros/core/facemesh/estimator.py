"""The bundled estimator: FaceMesh v2 landmarks posed metrically with the camera's intrinsics.

Per face: a rotated ROI (from the detection, or followed from the previous frame's landmarks),
478 landmarks, then MediaPipe's canonical face fitted to them with the real fx, fy, cx, cy and
distortion (:mod:`.metric`). The result is expressed like TRG's, so frames, smoothing and
messages are shared: ``rotation`` is the head -> camera rotation in TRG's head convention,
``vertices`` the 468 metric mesh points, ``landmarks_2d`` the 68 iBUG points and ``sellion``
canonical vertex 168.

Limits: the canonical face has one size, so the distance scales with the person's real face
size (about 10% off for a face 10% larger or smaller than the canonical one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import Detection
from trg_ros.core.device import pick_device
from trg_ros.core.errors import AssetError
from trg_ros.core.estimate import Estimate, FaceQuery, keep_following
from trg_ros.core.facemesh.canonical import CanonicalFace
from trg_ros.core.facemesh.config import FaceMeshConfig
from trg_ros.core.facemesh.files import POSE_FILES
from trg_ros.core.facemesh.ibug68 import FACEMESH_TO_IBUG68
from trg_ros.core.facemesh.landmarker import FaceLandmarker, FaceLandmarks, Roi
from trg_ros.core.facemesh.landmarker import roi_from_detection as seed_roi
from trg_ros.core.facemesh.metric import CANONICAL_IN_TRG_HEAD, MetricPose, metric_pose
from trg_ros.core.types import Head

log = logging.getLogger(__name__)


def roi_box(roi: Roi) -> np.ndarray:
    """Axis-aligned (4,) box around a rotated ROI, image px."""
    corners = np.array([[0, 0, 1], [256, 0, 1], [0, 256, 1], [256, 256, 1]], float)
    pts = corners @ roi.crop_to_image().T
    return np.concatenate([pts.min(0), pts.max(0)])


class FaceMeshEstimator:
    """Implements :class:`trg_ros.core.estimate.Estimator` with FaceMesh + metric Procrustes.

    Args:
        landmarker: the FaceMesh v2 network.
        face: MediaPipe's canonical metric face.
        source: where its files came from (for the log and diagnostics).
    """

    name = "facemesh"

    def __init__(self, landmarker: FaceLandmarker, face: CanonicalFace, source: str = "") -> None:
        self.landmarker = landmarker
        self.face = face
        self.source = source
        self.device = landmarker.net.device
        self.triangles = np.asarray(face.triangles, dtype=np.int64)

    @classmethod
    def from_dir(
        cls, data_dir: str | Path, config: FaceMeshConfig | None = None
    ) -> FaceMeshEstimator:
        """Load from a folder laid out like the asset cache (``trg-ros assets fetch``).

        Raises:
            AssetError: a file of the Face Landmarker bundle is missing.
        """
        d = Path(data_dir).expanduser()
        missing = [n for n in POSE_FILES if not (d / n).is_file()]
        if missing:
            raise AssetError(
                f"FaceMesh files missing in {d}: {', '.join(missing)}; run "
                "`trg-ros assets fetch --only facemesh`"
            )
        config = config or FaceMeshConfig()
        device = pick_device(config.device)
        landmarker = FaceLandmarker.from_dir(d, device, config.tflite_runtime)
        return cls(landmarker, CanonicalFace.load(d), str(d))

    def estimate(
        self,
        image_rgb: np.ndarray,
        faces: Sequence[FaceQuery],
        camera: CameraModel,
        passes: int = 1,
    ) -> list[Estimate]:
        """See :meth:`trg_ros.core.estimate.Estimator.estimate`."""
        rois = [self._roi(q) for q in faces]
        found = self.landmarker.landmarks(image_rgb, rois)
        for _ in range(passes - 1):
            rois = [f.next_roi() for f in found]
            found = self.landmarker.landmarks(image_rgb, rois)
        return [self._head(f, q, camera) for f, q in zip(found, faces, strict=True)]

    @staticmethod
    def _roi(query: FaceQuery) -> Roi:
        seeded = seed_roi(Detection(query.box, query.score, query.keypoints))
        followed = query.follow
        if isinstance(followed, Roi) and keep_following(
            roi_box(followed), roi_box(seeded), query.detected
        ):
            return followed
        return seeded

    def _head(self, found: FaceLandmarks, query: FaceQuery, camera: CameraModel) -> Estimate:
        if not found.present:
            log.debug("FaceMesh sees no face in the ROI (presence %.2f)", found.presence)
            return Estimate(None)
        # The landmarker's pixels are continuous (pixel i spans [i, i + 1)); K puts pixel
        # centres on integers (ROS, OpenCV), as TRG's projected landmarks are.
        points = found.points - np.array([0.5, 0.5, 0.0])
        if np.isfinite(points).all():
            pose = metric_pose(points, camera, self.face)
        else:  # counted as non-finite by the pipeline
            nan = np.full(3, np.nan)
            pose = MetricPose(np.full((3, 3), np.nan), nan, np.full((468, 3), np.nan), nan)
        head = Head(
            id="",
            score=float(query.score),
            box=np.asarray(query.box, float),
            rotation=pose.rotation @ CANONICAL_IN_TRG_HEAD.T,
            translation=pose.translation,
            vertices=pose.mesh,
            landmarks_2d=points[FACEMESH_TO_IBUG68, :2],
            sellion=pose.sellion,
            model=self.name,
            face_landmarks=points,
        )
        follow = found.next_roi()
        return Estimate(head, follow, follow.size)
