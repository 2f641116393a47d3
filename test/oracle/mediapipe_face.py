"""MediaPipe's own Face Landmarker on one image, as an independent reference: runs in its own
venv (``mediapipe`` pins its own numpy and OpenCV), never imported by the package or tests.

Usage: mediapipe_face.py IMAGE.npy FACE_LANDMARKER.task -> JSON on stdout: per face, 478
points (x, y) in px with pixel centres on integers (trg_ros's convention: MediaPipe's
normalised x * W - 0.5).
"""

from __future__ import annotations

import json
import sys

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision


def main() -> None:
    rgb = np.ascontiguousarray(np.load(sys.argv[1]), np.uint8)
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=sys.argv[2]), num_faces=4
    )
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    h, w = rgb.shape[:2]
    faces = [[[p.x * w - 0.5, p.y * h - 0.5] for p in face] for face in found.face_landmarks]
    json.dump({"version": mp.__version__, "faces": faces}, sys.stdout)


if __name__ == "__main__":
    main()
