"""The 468 -> iBUG-68 mapping: re-derived from the canonical mesh, and checked for iBUG's shape."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from trg_ros.core.facemesh.canonical import SELLION_VERTEX, CanonicalFace
from trg_ros.core.facemesh.ibug68 import FACEMESH_TO_IBUG68

# The anchors of the ibug68 docstring.
CHIN, NOSE_TIP, UPPER_LIP_TOP = 152, 4, 0
RIGHT_EYE, LEFT_EYE = (33, 133), (263, 362)  # (outer, inner) corners
MOUTH_CORNERS, INNER_MOUTH_CORNERS, ALAR_CREASES = (61, 291), (78, 308), (129, 358)
# iBUG's left/right pairs (the self-symmetric points 27-30, 33, 51, 57, 62, 66 map to themselves).
MIRROR_PAIRS = [
    *((i, 16 - i) for i in range(8)),
    *((17 + i, 26 - i) for i in range(5)),
    (31, 35), (32, 34),
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58),
    (60, 64), (61, 63), (65, 67),
]  # fmt: skip
MIDLINE = [27, 28, 29, 30, 33, 51, 57, 62, 66]
CONTOURS = {"right eye": range(36, 42), "left eye": range(42, 48)}
CONTOURS |= {"outer lips": range(48, 60), "inner lips": range(60, 68)}


class Mesh:
    """The canonical mesh as a graph: neighbours, open boundary, paths, rings, arc fractions."""

    def __init__(self, face: CanonicalFace) -> None:
        self.v = face.vertices
        self.neighbours: dict[int, set[int]] = defaultdict(set)
        edges: Counter[frozenset[int]] = Counter()
        for a, b, c in face.triangles.tolist():
            self.neighbours[a] |= {b, c}
            self.neighbours[b] |= {a, c}
            self.neighbours[c] |= {a, b}
            edges.update(frozenset(e) for e in ((a, b), (b, c), (c, a)))
        self.boundary: dict[int, list[int]] = defaultdict(list)
        for (a, b), n in ((tuple(e), n) for e, n in edges.items()):
            if n == 1:
                self.boundary[a].append(b)
                self.boundary[b].append(a)

    def path(self, start: int, end: int, allowed: Callable[[int], bool] = bool) -> list[int]:
        """Shortest path along edges (Euclidean lengths) through allowed vertices."""
        dist, prev, heap = {start: 0.0}, {}, [(0.0, start)]
        while heap:
            d, x = heapq.heappop(heap)
            if x == end:
                break
            for y in self.neighbours[x]:
                nd = d + float(np.linalg.norm(self.v[x] - self.v[y]))
                if (y == end or allowed(y)) and nd < dist.get(y, np.inf):
                    dist[y], prev[y] = nd, x
                    heapq.heappush(heap, (nd, y))
        out = [end]
        while out[-1] != start:
            out.append(prev[out[-1]])
        return out[::-1]

    def ring(self, vertices: Sequence[int], hops: int) -> set[int]:
        """The vertices exactly ``hops`` edges away from ``vertices``."""
        seen, front = set(vertices), set(vertices)
        for _ in range(hops):
            front = {y for x in front for y in self.neighbours[x]} - seen
            seen |= front
        return front

    def beside(self, a: int, b: int, sign: float) -> Callable[[int], bool]:
        """Vertices between a and b in x, above (sign > 0) or below the line a-b."""
        (xa, ya), (xb, yb) = self.v[a, :2], self.v[b, :2]

        def ok(i: int) -> bool:
            t = (self.v[i, 0] - xa) / (xb - xa)
            return 0 < t < 1 and sign * (self.v[i, 1] - ya - t * (yb - ya)) > 0

        return ok

    def at(self, path: Sequence[int], *fractions: float) -> list[int]:
        """The path's vertices nearest these fractions of its arc length."""
        steps = np.linalg.norm(np.diff(self.v[list(path)], axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(steps)]) / steps.sum()
        return [path[int(np.argmin(np.abs(s - f)))] for f in fractions]

    def lids(self, a: int, b: int) -> tuple[list[int], list[int]]:
        """Shortest paths from a to b above and below the line a-b."""
        return self.path(a, b, self.beside(a, b, 1)), self.path(a, b, self.beside(a, b, -1))


def split_at_midline(path: list[int], v: np.ndarray) -> tuple[list[int], list[int]]:
    k = next(j for j, i in enumerate(path) if v[i, 0] == 0)
    return path[: k + 1], path[k:]


def derive_ibug68(face: CanonicalFace) -> list[int]:
    """The rules of :mod:`trg_ros.core.facemesh.ibug68`, applied to the canonical mesh."""
    m, v = Mesh(face), face.vertices
    # Jaw: the open boundary (face oval) from the chin both ways up to eye-corner height.
    oval = [CHIN, min(m.boundary[CHIN], key=lambda i: v[i, 0])]  # first step to the right
    while len(oval) < len(m.boundary):
        oval.append(next(i for i in m.boundary[oval[-1]] if i != oval[-2]))
    jaw = []
    for side, seq in ((-1, oval), (1, [CHIN, *oval[:0:-1]])):
        candidates = [i for i in seq if side * v[i, 0] > 0]
        top = min(candidates, key=lambda i: abs(v[i, 1] - v[RIGHT_EYE[0], 1]))
        arc = seq[: seq.index(top) + 1]
        jaw += m.at(arc[::-1], *np.arange(9) / 8) if side < 0 else m.at(arc, *np.arange(1, 9) / 8)
    # Eyes: lid margins between the corners; brows: the 4th ring around them.
    (ru, rl), (lu, ll) = m.lids(*RIGHT_EYE), m.lids(*LEFT_EYE)
    eyes = [ru[0], *m.at(ru, 1 / 3, 2 / 3), ru[-1], *m.at(rl, 2 / 3, 1 / 3)]
    eyes += [lu[-1], *m.at(lu, 2 / 3, 1 / 3), lu[0], *m.at(ll, 1 / 3, 2 / 3)]
    brows = []
    for margin in (ru + rl, lu + ll):
        ring = [i for i in m.ring(margin, 4) if v[i, 0] != 0]
        brows += sorted(sorted(ring, key=lambda i: -v[i, 1])[:5], key=lambda i: v[i, 0])
    # Nose: the midline from the sellion to the tip; the subnasale and paths to the creases.
    midline = sorted(np.flatnonzero(v[:, 0] == 0).tolist(), key=lambda i: -v[i, 1])
    bridge = midline[midline.index(SELLION_VERTEX) : midline.index(NOSE_TIP) + 1]
    profile = midline[midline.index(NOSE_TIP) : midline.index(UPPER_LIP_TOP) + 1]

    def bend(k: int) -> float:  # signed turn of the (y, z) profile; concave < 0
        a, b = v[profile[k]] - v[profile[k - 1]], v[profile[k + 1]] - v[profile[k]]
        return float(np.arctan2(a[1] * b[2] - a[2] * b[1], a[1:] @ b[1:]))

    subnasale = profile[min(range(1, len(profile) - 1), key=bend)]
    right, left = (m.path(subnasale, crease)[:-1] for crease in ALAR_CREASES)
    nose = [*m.at(bridge, 0, 1 / 3, 2 / 3, 1), *right[::-1], *left[1:]]
    # Lips: inner contour between the inner corners, outer contour = its 3rd ring.
    inner_up, inner_lo = m.lids(*INNER_MOUTH_CORNERS)
    outer_ring = m.ring(inner_up + inner_lo, 3)
    a, b = MOUTH_CORNERS
    up_r, up_l = split_at_midline(m.path(a, b, lambda i: i in outer_ring and v[i, 1] > v[a, 1]), v)
    lo_r, lo_l = split_at_midline(m.path(a, b, lambda i: i in outer_ring and v[i, 1] < v[a, 1]), v)
    peak_r, peak_l = (max(h[1:-1], key=lambda i: v[i, 1]) for h in (up_r, up_l))
    lips = [a, *m.at(up_r[: up_r.index(peak_r) + 1], 0.5), peak_r, up_r[-1], peak_l]
    lips += [*m.at(up_l[up_l.index(peak_l) :], 0.5), b, *m.at(lo_l[::-1], 1 / 3, 2 / 3)]
    lips += [lo_l[0], *m.at(lo_r[::-1], 1 / 3, 2 / 3)]
    (ir, il), (jr, jl) = (split_at_midline(p, v) for p in (inner_up, inner_lo))
    lips += [ir[0], *m.at(ir, 0.5), ir[-1], *m.at(il, 0.5), il[-1], *m.at(jl[::-1], 0.5)]
    lips += [jl[0], *m.at(jr[::-1], 0.5)]
    return jaw + brows + nose + eyes + lips


def test_the_rules_give_the_frozen_mapping(canonical_face: CanonicalFace) -> None:
    derived = derive_ibug68(canonical_face)
    differ = {
        j: (int(FACEMESH_TO_IBUG68[j]), d)
        for j, d in enumerate(derived)
        if d != FACEMESH_TO_IBUG68[j]
    }
    assert len(derived) == 68 and not differ, f"iBUG point: (frozen, derived) {differ}"


@pytest.fixture(scope="module")
def points(canonical_face: CanonicalFace) -> np.ndarray:
    """(68, 3) iBUG points on the canonical mesh, m."""
    assert FACEMESH_TO_IBUG68.shape == (68,) and len(set(FACEMESH_TO_IBUG68.tolist())) == 68
    return canonical_face.vertices[FACEMESH_TO_IBUG68]


def test_mirror_pairs_and_midline(points: np.ndarray) -> None:
    for i, j in MIRROR_PAIRS:
        gap = np.linalg.norm(points[i] * [-1, 1, 1] - points[j])
        assert gap < 0.003, f"iBUG {i} and {j} are {gap * 1e3:.1f} mm from mirror images"
        assert points[i, 0] * points[j, 0] < 0, f"iBUG {i} and {j} are on the same side"
    for i in MIDLINE:
        assert abs(points[i, 0]) < 0.003, (
            f"iBUG {i} is {points[i, 0] * 1e3:.1f} mm off the midline"
        )


def test_jaw_runs_right_to_left_along_the_face_oval(
    canonical_face: CanonicalFace, points: np.ndarray
) -> None:
    jaw = points[:17]
    assert (np.diff(jaw[:, 0]) > 0).all(), jaw[:, 0]
    assert (np.diff(jaw[:9, 1]) < 0).all() and (np.diff(jaw[8:, 1]) > 0).all(), jaw[:, 1]
    assert FACEMESH_TO_IBUG68[8] == np.argmin(canonical_face.vertices[:, 1]), "8 = chin bottom"
    oval = set(Mesh(canonical_face).boundary)
    assert set(FACEMESH_TO_IBUG68[:17].tolist()) <= oval, "jaw points off the face oval"
    eye_height = points[36, 1]
    assert abs(jaw[0, 1] - eye_height) < 0.01, "jaw starts at the ear near eye height"


def test_nose(canonical_face: CanonicalFace, points: np.ndarray) -> None:
    assert FACEMESH_TO_IBUG68[27] == SELLION_VERTEX
    assert (np.diff(points[27:31, 1]) < 0).all(), "bridge 27-30 runs down"
    tip = canonical_face.vertices[np.argmax(canonical_face.vertices[:, 2])]
    assert np.linalg.norm(points[30] - tip) < 0.01, "30 is at the nose tip"
    nostrils = points[31:36]
    assert (np.diff(nostrils[:, 0]) > 0).all() and (nostrils[:, 1] < points[30, 1]).all()
    assert points[33, 1] > points[51, 1], "the subnasale is above the upper lip"


@pytest.mark.parametrize("name", CONTOURS)
def test_contours_are_closed_and_clockwise(points: np.ndarray, name: str) -> None:
    """Eye and lip contours go once around their centre, clockwise on the image as in iBUG."""
    xy = points[list(CONTOURS[name]), :2]
    d = xy - xy.mean(axis=0)
    # Canonical y is up, as on a picture of a frontal face: clockwise = decreasing angle.
    angles = np.arctan2(d[:, 1], d[:, 0])
    steps = (np.roll(angles, -1) - angles + np.pi) % (2 * np.pi) - np.pi  # to the next point
    assert (steps < 0).all(), f"{name}: angular steps {np.degrees(steps).round(1)} deg"
    assert np.isclose(steps.sum(), -2 * np.pi), f"{name}: winds {np.degrees(steps.sum()):.0f} deg"


def test_brows_above_the_eyes_and_lips_in_order(points: np.ndarray) -> None:
    assert points[17:27, 1].min() > points[36:48, 1].max(), "brows above the eyes"
    assert (np.diff(points[17:27, 0]) > 0).all(), "brows 17-26 run right to left"
    upper, lower = points[51, 1], points[57, 1]
    assert upper > points[62, 1] > points[66, 1] > lower, "lips 51 > 62 > 66 > 57 from the top"
