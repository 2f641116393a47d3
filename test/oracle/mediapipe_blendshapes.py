"""MediaPipe's own Face Landmarker with blendshapes on several images, as an independent
reference: runs in the oracle venv (requirements/oracle.txt), never imported by the package.

Usage: mediapipe_blendshapes.py IMAGES.npz FACE_LANDMARKER.task [FRAMES] -> JSON on stdout:
per image, the first face's 478 points (x, y) in px with pixel centres on integers (trg_ros's
convention) and its 52 blendshape scores by name, or null where no face was found.

FRAMES (default 1): 1 runs the Face Landmarker on each image alone (IMAGE mode: the ROI comes
from MediaPipe's face detector); more runs each image as a video of its own of that many
identical frames (VIDEO mode: after the first frame the ROI follows the previous frame's
landmarks, as on a camera stream) and reports the last frame.
"""

from __future__ import annotations

import json
import sys

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision


def main() -> None:
    frames = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with np.load(sys.argv[1]) as z:  # arr_0, arr_1, ... as np.savez names them
        images = [z[f"arr_{k}"] for k in range(len(z.files))]
    mode = vision.RunningMode.IMAGE if frames == 1 else vision.RunningMode.VIDEO
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=sys.argv[2]),
        running_mode=mode,
        num_faces=1,
        output_face_blendshapes=True,
    )
    out = []
    for rgb in images:
        rgb = np.ascontiguousarray(rgb, np.uint8)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        # one landmarker per image: a video's tracked ROI must not carry over to the next
        with vision.FaceLandmarker.create_from_options(options) as landmarker:
            if frames == 1:
                found = landmarker.detect(image)
            else:
                for k in range(frames):
                    found = landmarker.detect_for_video(image, 33 * k)
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
