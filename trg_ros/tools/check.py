"""``trg-ros check``: does a TRG checkpoint see the faces that the bundled FaceMesh sees?

No ground truth is at hand on a user's machine, but FaceMesh (real weights from a package
registry, :mod:`trg_ros.core.facemesh`) is an independent second opinion. Both estimators run
on the same faces of the same real images - BlazeFace detects once and both pipelines get
those detections, so any difference is the pose models' - and three things are compared per
face: the REP-155 face frames (geodesic angle), the face origins at each model's sellion (the
two head-frame origins differ, the sellion is the same point of the face) and the 68 iBUG
landmarks in the image (TRG's are its dense mesh projected with the camera's intrinsics).
Each model looks at every face twice (``refine_passes=2``): the second crop comes from its own
first-pass landmarks, which for TRG is the official crop rule of the paper. A correct model
lands on the face again; one that does not see the face drifts off it, and the drift shows.

The verdict takes the median over faces of each measure against a bound far beyond what the
two models' published errors allow:

- rotation 25 deg: TRG* errs 2.75 deg (rotation MAE on BIWI, paper Table 4), FaceMesh up to
  11 deg (mean errors against motion capture, Sensors 22(18):6850, 2022); two correct models
  differ by about their sum, 14 deg, at most; 25 deg leaves room for FaceMesh's pitch, its
  weakest angle on still images.
- origin 30 % of the distance: TRG* errs 12.97 mm (translation MAE on BIWI, about 1.3 % at
  1 m); FaceMesh's distance scales with the person's real face size against its one canonical
  face, about 10 % for a face 10 % off; 30 % is three times that.
- landmarks 15 % (mean 68-point distance over the size of FaceMesh's landmark box, the
  AFLW2000-3D normalisation): 3-D face models reach 3-4 % there (3DDFA-V2 3.5 %), FaceMesh's
  468 -> 68 mapping adds its own definitional offsets; 15 % is about twice their sum. This is
  the measure that catches a network that ignores the image: on upright, near-frontal photos
  even a constant "frontal" answer agrees in rotation and distance.

A check can only fail a checkpoint, never prove one: the official weights are not reachable
from this project's CI, so the pass branch is tested by comparing FaceMesh with itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import FaceDetector
from trg_ros.core.errors import AssetError, TRGError
from trg_ros.core.estimate import Estimator
from trg_ros.core.frames import face_pose
from trg_ros.core.model.files import CHECKPOINTS
from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
from trg_ros.core.types import Head
from trg_ros.tools import sources
from trg_ros.tools.options import add_model_files, model_files

MAX_ROTATION_DEG = 25.0
MAX_ORIGIN_PCT = 30.0
MAX_LANDMARK_PCT = 15.0
BOUNDS = {  # Agreement field -> its bound and how a breach reads
    "rotation_deg": (MAX_ROTATION_DEG, "rotation {:.1f} deg (bound {:g})"),
    "origin_pct": (MAX_ORIGIN_PCT, "face origin {:.0f} % of the distance (bound {:g} %)"),
    "landmark_pct": (MAX_LANDMARK_PCT, "landmarks {:.0f} % of the face size (bound {:g} %)"),
}
EXIT_DISAGREE = 1
EXIT_BAD_INPUT = 2
EXIT_MISSING_FILES = 3
EXIT_NOTHING_COMPARED = 4
LABELS = {"trg-star": "TRG*", "trg": "TRG"}  # the paper's names of the official checkpoints
SAMPLE_NAME = "astronaut (scikit-image)"
DEFAULT_FOV = 60.0


@dataclass(frozen=True)
class Picture:
    """One image to check on: a name for the table, (H, W, 3) uint8 RGB and its intrinsics."""

    name: str
    rgb: np.ndarray
    camera: CameraModel


@dataclass(frozen=True)
class Agreement:
    """How far two estimates of one face are apart.

    Attributes:
        image, face: where (picture name, track id).
        rotation_deg: geodesic angle between the two ``face_<id>`` frames.
        origin_mm: distance between the two face origins (sellions), camera frame.
        origin_pct: ``origin_mm`` over the mean of the two distances, percent.
        landmark_pct: mean distance of the 68 image landmarks over sqrt(w * h) of the
            reference's landmark box, percent.
        euler_tested, euler_reference: yaw, pitch, roll in deg (scipy ``as_euler('yxz')`` of
            the head -> camera rotation, TRG's head frame: the demo's convention).
        distance_tested, distance_reference: face origin's distance from the camera, m.
    """

    image: str
    face: str
    rotation_deg: float
    origin_mm: float
    origin_pct: float
    landmark_pct: float
    euler_tested: tuple[float, float, float]
    euler_reference: tuple[float, float, float]
    distance_tested: float
    distance_reference: float


def agreement(image: str, tested: Head, reference: Head) -> Agreement:
    """Compare two raw (unsmoothed) estimates of the same face in the same image."""
    r_a, o_a = face_pose(tested, smoothed=False)
    r_b, o_b = face_pose(reference, smoothed=False)
    angle = Rotation.from_matrix(r_a.T @ r_b).magnitude()
    dist_a, dist_b = float(np.linalg.norm(o_a)), float(np.linalg.norm(o_b))
    gap = float(np.linalg.norm(o_a - o_b))
    lo, hi = reference.landmarks_2d.min(0), reference.landmarks_2d.max(0)
    size = float(np.sqrt(np.prod(hi - lo)))
    lmk = float(np.linalg.norm(tested.landmarks_2d - reference.landmarks_2d, axis=1).mean())
    return Agreement(
        image=image,
        face=reference.id,
        rotation_deg=float(np.degrees(angle)),
        origin_mm=1000.0 * gap,
        origin_pct=100.0 * gap / ((dist_a + dist_b) / 2),
        landmark_pct=100.0 * lmk / size,
        euler_tested=_euler(tested),
        euler_reference=_euler(reference),
        distance_tested=dist_a,
        distance_reference=dist_b,
    )


def _euler(head: Head) -> tuple[float, float, float]:
    yaw, pitch, roll = Rotation.from_matrix(head.rotation).as_euler("yxz", degrees=True)
    return float(yaw), float(pitch), float(roll)


@dataclass
class Comparison:
    """Every face of every picture, as both estimators saw it.

    Attributes:
        rows: one agreement per face both estimators posed.
        unposed: (image, face) the reference posed and the tested estimator did not (its
            output was not finite, or its crop collapsed): a broken network.
        unseen: (image, face) the reference found no face in (FaceMesh's presence score):
            not compared.
    """

    rows: list[Agreement] = field(default_factory=list)
    unposed: list[tuple[str, str]] = field(default_factory=list)
    unseen: list[tuple[str, str]] = field(default_factory=list)


def compare(
    pictures: Sequence[Picture],
    tested: Estimator,
    reference: Estimator,
    detector: FaceDetector,
    config: PipelineConfig | None = None,
) -> Comparison:
    """Run both estimators on the same detections of every picture and compare per face.

    Args:
        pictures: the images and their intrinsics.
        tested: the estimator under test (TRG).
        reference: the second opinion (FaceMesh).
        detector: finds the faces, once per picture, for both.
        config: pipeline settings (default: the node's without smoothing, and every face
            looked at twice; see the module docstring).
    """
    config = config or PipelineConfig(smoothing=False, refine_passes=2)
    out = Comparison()
    for pic in pictures:
        detections = detector.detect(pic.rgb)
        posed = []
        for estimator in (tested, reference):
            pipeline = HeadPosePipeline(estimator, None, config)  # fresh tracks: the same ids
            found = pipeline.process(pic.rgb, pic.camera, 0.0, detections)
            posed.append({h.id: h for h in found.heads})
        for face in sorted(set(posed[0]) | set(posed[1])):
            a, b = posed[0].get(face), posed[1].get(face)
            if b is None:
                out.unseen.append((pic.name, face))
            elif a is None:
                out.unposed.append((pic.name, face))
            else:
                out.rows.append(agreement(pic.name, a, b))
    return out


@dataclass(frozen=True)
class Verdict:
    """The check's outcome.

    Attributes:
        exit_code: 0 agree, 1 disagree (or unposed faces), 4 nothing to compare.
        medians: median rotation_deg, origin_pct and landmark_pct over the faces.
        reasons: what exceeded its bound, in words; empty when the models agree.
    """

    exit_code: int
    medians: dict[str, float]
    reasons: list[str]


def judge(comparison: Comparison) -> Verdict:
    """Medians over the faces against the bounds (see the module docstring)."""
    rows = comparison.rows
    medians = {k: float(np.median([getattr(r, k) for r in rows])) for k in BOUNDS if rows}
    reasons = [
        text.format(medians[k], bound)
        for k, (bound, text) in BOUNDS.items()
        if rows and medians[k] > bound
    ]
    if comparison.unposed:
        n = len(comparison.unposed)
        reasons.append(f"no pose for {n} of {n + len(rows)} faces (not finite or off the face)")
    if not rows and not comparison.unposed:
        return Verdict(EXIT_NOTHING_COMPARED, medians, [])
    return Verdict(EXIT_DISAGREE if reasons else 0, medians, reasons)


# --- the command -----------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="compare a TRG checkpoint with the bundled FaceMesh on real images"
    )
    p.add_argument(
        "--image",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help="images with faces, checked besides the bundled astronaut",
    )
    add_model_files(p)
    p.add_argument(
        "--fov",
        type=float,
        default=DEFAULT_FOV,
        help="horizontal field of view in degrees (default %(default)g)",
    )
    p.add_argument(
        "--camera-info",
        type=Path,
        help="camera_calibration YAML for the --image files of its size (others: --fov)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--json", type=Path, help="write the table and the verdict to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.device import resolve_device
    from trg_ros.core.facemesh.config import FaceMeshConfig
    from trg_ros.core.facemesh.estimator import FaceMeshEstimator
    from trg_ros.core.model.config import TRGConfig
    from trg_ros.core.model.estimator import TRGEstimator

    try:
        pictures = _pictures(args)
        device = resolve_device(args.device)
    except (TRGError, ValueError) as e:
        print(f"check: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    files = model_files(args)
    missing = []
    try:
        trg = TRGEstimator.from_files(files, TRGConfig(device=str(device)))
    except AssetError as e:
        missing.append(str(e))
    except TRGError as e:  # there, but not loadable as TRG: the wrong file
        print(
            f"FAIL: {e}\nThis is not a TRG checkpoint; "
            f"`{CHECKPOINTS[args.checkpoint].command}` gets the official one.",
            file=sys.stderr,
        )
        return EXIT_DISAGREE
    try:
        facemesh = FaceMeshEstimator.from_dir(files.data_dir, FaceMeshConfig(str(device)))
    except AssetError as e:
        missing.append(str(e))
    if missing:
        print("\n".join(missing), file=sys.stderr)
        return EXIT_MISSING_FILES
    detector = BlazeFace(files.detector, device=device)
    comparison = compare(pictures, trg, facemesh, detector)
    verdict = judge(comparison)
    _print_table(comparison)
    print(_summary(comparison, verdict, files.weights, args.checkpoint))
    if args.json:
        _write_json(args.json, comparison, verdict, files.weights)
    return verdict.exit_code


def _pictures(args: argparse.Namespace) -> list[Picture]:
    """The astronaut and every --image, each with its intrinsics."""
    named = [(SAMPLE_NAME, sources.sample_image())]
    named += [(path.name, sources.read_image(path)) for path in args.image]
    calibrated = sources.camera_from_yaml(args.camera_info) if args.camera_info else None
    pictures = []
    for name, rgb in named:
        h, w = rgb.shape[:2]
        if calibrated is not None and (calibrated.width, calibrated.height) == (w, h):
            camera, how = calibrated, f"{args.camera_info}"
        else:
            camera, how = CameraModel.from_fov(w, h, args.fov), f"--fov {args.fov:g}"
        print(f"{name}: {w}x{h}, fx={camera.fx:.0f} fy={camera.fy:.0f} px from {how}")
        pictures.append(Picture(name, rgb, camera))
    return pictures


def _print_table(comparison: Comparison) -> None:
    print(
        f"{'image':<28} {'face':<5} {'rot':>6}  {'TRG yaw pitch roll':>20}  "
        f"{'FaceMesh yaw pitch roll':>23}  {'origin gap':>14}  {'distance':>7} {'':>8}  "
        f"{'lmk':>5}"
    )
    print(
        f"{'':<28} {'':<5} {'deg':>6}  {'deg':>20}  {'deg':>23}  {'mm':>8} {'%':>5}  "
        f"{'TRG m':>7} {'FM m':>8}  {'%':>5}"
    )
    for r in comparison.rows:
        print(
            f"{r.image[-28:]:<28} {r.face:<5} {r.rotation_deg:6.1f}  "
            f"{_angles(r.euler_tested):>20}  {_angles(r.euler_reference):>23}  "
            f"{r.origin_mm:8.0f} {r.origin_pct:5.1f}  {r.distance_tested:7.3f} "
            f"{r.distance_reference:8.3f}  {r.landmark_pct:5.1f}"
        )
    for image, face in comparison.unposed:
        print(f"{image[-28:]:<28} {face:<5} TRG gave no pose (not finite or off the face)")
    for image, face in comparison.unseen:
        print(f"{image[-28:]:<28} {face:<5} FaceMesh sees no face there: not compared")


def _angles(euler: tuple[float, float, float]) -> str:
    return " ".join(f"{v:6.1f}" for v in euler)


def _summary(comparison: Comparison, verdict: Verdict, weights: Path, checkpoint: str) -> str:
    if verdict.exit_code == EXIT_NOTHING_COMPARED:
        return (
            "NOTHING COMPARED: no face that both models could pose was found; "
            "give --image with a clearly visible face"
        )
    n, m = len(comparison.rows), verdict.medians
    medians = (
        f"{m['rotation_deg']:.1f} deg / {m['origin_pct']:.0f} % / landmarks "
        f"{m['landmark_pct']:.0f} % (medians over {n} face{'s' * (n != 1)})"
        if n
        else ""
    )
    if verdict.exit_code == 0:
        return f"OK: TRG and FaceMesh agree within the bounds: {medians}"
    head = f"TRG and FaceMesh disagree by {medians}: " if n else ""
    return (
        f"FAIL: {head}{'; '.join(verdict.reasons)}.\nThe checkpoint {weights} is probably not "
        f"the official {LABELS[checkpoint]} one (a wrong or corrupt file): `trg-ros assets "
        f"verify` checks the cached file, `{CHECKPOINTS[checkpoint].command}` gets it "
        "again."
    )


def _write_json(path: Path, comparison: Comparison, verdict: Verdict, weights: Path) -> None:
    report = {
        "tested": "trg",
        "reference": "facemesh",
        "weights": str(weights),
        "bounds": {k: bound for k, (bound, _) in BOUNDS.items()},
        "medians": verdict.medians,
        "passed": verdict.exit_code == 0,
        "exit_code": verdict.exit_code,
        "reasons": verdict.reasons,
        "faces": [asdict(r) for r in comparison.rows],
        "unposed": [list(f) for f in comparison.unposed],
        "unseen": [list(f) for f in comparison.unseen],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
