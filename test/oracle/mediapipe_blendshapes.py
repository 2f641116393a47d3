"""MediaPipe's own Face Landmarker with blendshapes on several images, as an independent
reference: runs in the oracle venv (requirements/oracle.txt), never imported by the package.

Usage: mediapipe_blendshapes.py IMAGES.npz FACE_LANDMARKER.task -> JSON on stdout: per image,
the first face's 478 points (x, y) in px with pixel centres on integers (trg_ros's
convention) and its 52 blendshape scores by name, or null where no face was found.
"""

from __future__ import annotations

import json
import sys

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision


def main() -> None:
    with np.load(sys.argv[1]) as z:  # arr_0, arr_1, ... as np.savez names them
        images = [z[f"arr_{k}"] for k in range(len(z.files))]
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=sys.argv[2]),
        num_faces=1,
        output_face_blendshapes=True,
    )
    out = []
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        for rgb in images:
            rgb = np.ascontiguousarray(rgb, np.uint8)
            found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            if not found.face_landmarks:
                out.append(None)
                continue
            h, w = rgb.shape[:2]
            points = [[p.x * w - 0.5, p.y * h - 0.5] for p in found.face_landmarks[0]]
            scores = {c.category_name: c.score for c in found.face_blendshapes[0]}
            out.append({"points": points, "blendshapes": scores})
    json.dump({"version": mp.__version__, "images": out}, sys.stdout)


if __name__ == "__main__":
    main()
