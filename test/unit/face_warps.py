"""Real faces with closed eyes or moved irises, made by a piecewise-affine warp of the image on
its FaceMesh landmarks (no registry has such photos): the moved points take the image along,
the other landmarks hold it in place."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import griddata

# FaceMesh eye contours (subject's right eye, then left): upper lid and lower lid, corner to
# corner.
UPPER = (
    (33, 246, 161, 160, 159, 158, 157, 173, 133),
    (263, 466, 388, 387, 386, 385, 384, 398, 362),
)
LOWER = ((33, 7, 163, 144, 145, 153, 154, 155, 133), (263, 249, 390, 373, 374, 380, 381, 382, 362))
# The crease above each upper lid, outer to inner corner.
CREASE = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))
IRISES = (range(468, 473), range(473, 478))


def warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Move the image so that each ``src`` point (K, 2 px) lands on ``dst``; piecewise-affine
    on the Delaunay triangles of ``dst`` inside their hull, untouched elsewhere."""
    x0, y0 = np.floor(dst.min(0)).astype(int)
    x1, y1 = np.ceil(dst.max(0)).astype(int)
    gx, gy = np.meshgrid(np.arange(x0, x1), np.arange(y0, y1))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float64)
    mx = griddata(dst, src[:, 0], grid, method="linear")
    my = griddata(dst, src[:, 1], grid, method="linear")
    inside = np.isfinite(mx)
    map_x = np.where(inside, mx, grid[:, 0]).reshape(gx.shape).astype(np.float32)
    map_y = np.where(inside, my, grid[:, 1]).reshape(gx.shape).astype(np.float32)
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.remap(
        image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out


def close_eyes(
    image: np.ndarray, landmarks: np.ndarray, which: tuple[int, ...] = (0, 1)
) -> np.ndarray:
    """The face with its eyes shut ((478, 2+) px points; ``which``: 0 the subject's right eye,
    1 the left): the crease comes down by the lid's height (piecewise-affine, so the lid skin
    stretches over the eye), the opening left is filled from the skin around it (inpainting),
    and a lash line is drawn along the lower lid."""
    src = np.asarray(landmarks, np.float64)[:468, :2]
    dst = src.copy()
    shut = [(UPPER[i], LOWER[i], CREASE[i]) for i in which]
    for upper, lower, crease in shut:
        dst[list(upper)] = src[list(lower)]
        middle = (src[list(lower[3:6])] - src[list(upper[3:6])]).mean(0)
        dst[list(crease)] = src[list(crease)] + middle
    out = warp(image, src, dst)
    mask = np.zeros(image.shape[:2], np.uint8)
    for upper, lower, _ in shut:
        ring = np.concatenate([src[list(upper)], src[list(lower[::-1])]])
        cv2.fillPoly(mask, [np.round(ring).astype(np.int32)], 255)
    width = np.linalg.norm(src[UPPER[0][0]] - src[UPPER[0][-1]])
    grow = max(3, round(width / 8)) | 1
    mask = cv2.dilate(mask, np.ones((grow, grow), np.uint8))
    out = cv2.inpaint(out, mask, grow, cv2.INPAINT_TELEA)
    lash = tuple(int(v) for v in np.percentile(image[mask > 0].reshape(-1, 3), 5, axis=0))
    for _, lower, _ in shut:
        line = np.round(src[list(lower)]).astype(np.int32)
        cv2.polylines(out, [line], False, lash, max(1, round(width / 15)), cv2.LINE_AA)
    return out


def move_irises(image: np.ndarray, landmarks: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The face with both irises moved by (dx, dy) times each eye's width, the lids held."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    src, dst = [pts[:468]], [pts[:468]]  # every mesh point, the lids among them, holds
    for iris, upper in zip(IRISES, UPPER, strict=True):
        width = np.linalg.norm(pts[upper[0]] - pts[upper[-1]])
        src.append(pts[list(iris)])
        dst.append(pts[list(iris)] + np.array([dx, dy]) * width)
    return warp(image, np.concatenate(src), np.concatenate(dst))
