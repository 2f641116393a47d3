"""``trg-ros eval``: the paper's metrics on BIWI or ARKitFace, following SPEC §6 exactly.

Protocol (both datasets): samples in list order, official batch size 64 with the last
incomplete batch dropped (``--keep-tail`` scores it too), crops by the official landmark-extent
rule, the network's (W/2, H/2) principal-point assumption (``--principal-point image_centre``,
the default here, as the paper's numbers include it), plain means over samples.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from trg_ros.core import assets, metrics
from trg_ros.core.assets import DriveFile
from trg_ros.core.assets.unpack import NumpyOnlyUnpickler
from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.errors import TRGError
from trg_ros.core.model.crop import Box, landmark_box
from trg_ros.core.model.files import EVAL_FOLDER_URL

BATCH = 64
ARKIT_P00 = 1.57443701  # npy/projection_matrix.txt of the official repository
D = np.diag([1.0, -1.0, -1.0])


@dataclass
class Sample:
    key: str
    load_rgb: Callable[[], np.ndarray]
    camera: CameraModel
    box: Box
    r_gt: np.ndarray  # (3, 3) head -> camera
    t_gt: np.ndarray  # (3,) m
    add_vertices: np.ndarray  # (V, 3) head frame, m: vertices ADD moves
    face_gt: np.ndarray | None = None  # (1220, 3) head frame (ARKitFace only)


@dataclass
class Prediction:
    rotation: np.ndarray
    translation: np.ndarray
    face_head: np.ndarray  # (1220, 3) head frame, m


Predictor = Callable[[list[Sample]], list[Prediction]]


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file; a clear error when it cannot be read."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise TRGError(f"cannot read image {path}")
    return img.shape[1], img.shape[0]


def _read_rgb(path: Path) -> Callable[[], np.ndarray]:
    from trg_ros.tools.sources import read_image

    return lambda: read_image(path)


# --- ARKitFace -----------------------------------------------------------------------------
def arkit_samples(
    root: Path, kpt_ind: np.ndarray, list_csv: Path | None = None
) -> Iterator[Sample]:
    """The official layout: list CSV, ``*_ar.jpg`` images, ``*_info.npz`` (verts, R_t)."""
    list_csv = list_csv or root / "ARKitFace_list/list/ARKitFace_test.csv"
    if not list_csv.is_file():
        raise TRGError(f"ARKitFace list {list_csv} not found")
    with list_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        rel = Path(row["subject_id"]) / row["facial_action"]
        img = root / "ARKitFace_image_test/image" / rel / f"{row['img_id']}_ar.jpg"
        info = np.load(root / "ARKitFace_info_test/info" / rel / f"{row['img_id']}_info.npz")
        verts, r_t = info["verts"].astype(np.float64), info["R_t"].astype(np.float64)
        r_gt, t_gt = D @ r_t[:3, :3].T @ D, D @ r_t[3, :3]
        v_head = verts @ D
        w, h = _image_size(img)
        k = np.array([[ARKIT_P00 * w / 2, 0, w / 2], [0, ARKIT_P00 * h / 2, h / 2], [0, 0, 1]])
        camera = CameraModel(k, w, h)
        lmk = camera.project(v_head[kpt_ind] @ r_gt.T + t_gt)
        yield Sample(
            str(rel / row["img_id"]),
            _read_rgb(img),
            camera,
            landmark_box(lmk),
            r_gt,
            t_gt,
            v_head,
            v_head,
        )


# --- BIWI ----------------------------------------------------------------------------------
class _AnnotationUnpickler(NumpyOnlyUnpickler):
    """Containers and numpy arrays only (the annotation file is user-supplied data)."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = NumpyOnlyUnpickler.ALLOWED | {
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("collections", "OrderedDict"),
        ("trimesh.caching", "TrackedArray"),
    }

    def find_class(self, module: str, name: str) -> object:
        if module == "trimesh.caching" and name == "TrackedArray":
            return np.ndarray  # trimesh's ndarray subclass, read back as a plain array
        return super().find_class(module, name)


def read_annotation(path: Path) -> dict:
    """The BIWI annotation (``img_path``, ``pred_kpt``, ``mesh``), restricted unpickler."""
    try:
        ann = _AnnotationUnpickler.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise TRGError(f"cannot read {path}: {e}") from e
    missing = [
        k for k in ("img_path", "pred_kpt", "mesh") if not isinstance(ann, dict) or k not in ann
    ]
    if missing:
        raise TRGError(f"{path} is not the BIWI annotation: it lacks {', '.join(missing)}")
    return ann


def _annotation_fits(path: Path, cache: Path) -> None:
    read_annotation(path)


# The official FAN face boxes of BIWI (evaluation extras folder); no size or hash on record.
BIWI_ANNOTATION = assets.Asset(
    "annot_mtcnn_fan.pkl",
    url=None,
    size=None,
    sha256=None,
    drive=DriveFile(EVAL_FOLDER_URL, "annot_mtcnn_fan.pkl"),
    how_to_get=(
        f"download annot_mtcnn_fan.pkl from {EVAL_FOLDER_URL} in a browser into the "
        "BIWI hpdb folder, or pass --annotation FILE"
    ),
    command="trg-ros eval --dataset biwi",
    content_check=_annotation_fits,
)


def biwi_annotation(hpdb: Path, cache: Path | None = None) -> Path:
    """``hpdb/annot_mtcnn_fan.pkl``, else the cached copy, fetched from Drive when missing."""
    local = hpdb / BIWI_ANNOTATION.name
    if local.is_file():
        return local
    from trg_ros.tools.progress import download_bar

    return assets.fetch([BIWI_ANNOTATION], cache, progress=download_bar)[0]


def _read_matrix(lines: list[str]) -> np.ndarray:
    return np.array([[float(v) for v in line.split()] for line in lines])


def read_biwi_cal(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rgb.cal -> K (3x3), R_ext (3x3), T_ext (3,) in mm."""
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    k = _read_matrix(lines[0:3])
    r_ext = _read_matrix(lines[4:7])
    t_ext = _read_matrix(lines[7:8]).ravel()
    return k, r_ext, t_ext


def slide_into(box: Box, width: int, height: int) -> Box:
    """BIWI only: move (not clip) the box into the image, x first then y (SPEC §6.2.7)."""
    x0, y0, x1, y1 = box.left, box.top, box.right, box.bottom
    if x0 < 0:
        x0, x1 = 0, x1 - x0
    if x1 > width - 1:
        x0, x1 = x0 - (x1 - (width - 1)), width - 1
    if y0 < 0:
        y0, y1 = 0, y1 - y0
    if y1 > height - 1:
        y0, y1 = y0 - (y1 - (height - 1)), height - 1
    return Box(x0, y0, x1, y1)


def biwi_samples(hpdb: Path, annotation: Path | None = None) -> Iterator[Sample]:
    annotation = annotation or hpdb / "annot_mtcnn_fan.pkl"
    if not annotation.is_file():
        raise TRGError(
            f"BIWI annotation {annotation} not found (annot_mtcnn_fan.pkl, see "
            "docs/eval.md for where to get it)"
        )
    ann = read_annotation(annotation)
    missing = [k for k in ann["img_path"] if k not in ann["pred_kpt"]]
    if missing:
        raise TRGError(
            f"{len(missing)} frames of img_path have no pred_kpt (first {missing[0]})"
            ": the official loader cannot score them either"
        )
    cal_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for key in ann["img_path"]:
        seq = key.split("/", 1)[0]
        if seq not in cal_cache:
            cal_cache[seq] = read_biwi_cal(hpdb / seq / "rgb.cal")
        k, r_ext, t_ext = cal_cache[seq]
        pose_lines = [
            ln
            for ln in (hpdb / key.replace("_rgb.png", "_pose.txt")).read_text().splitlines()
            if ln.strip()
        ]
        r_head, t_head = _read_matrix(pose_lines[0:3]), _read_matrix(pose_lines[3:4]).ravel()
        img = hpdb / key
        w, h = _image_size(img)
        box = slide_into(landmark_box(np.asarray(ann["pred_kpt"][key])[:, :2]), w, h)
        yield Sample(
            key,
            _read_rgb(img),
            CameraModel(k, w, h),
            box,
            r_ext @ r_head,
            (r_ext @ t_head + t_ext) / 1000.0,
            np.asarray(ann["mesh"][seq]["vertices"], np.float64) / 1000.0,
        )


# --- scoring -------------------------------------------------------------------------------
def evaluate(
    samples: list[Sample], predict: Predictor, keep_tail: bool = False, progress: bool = True
) -> tuple[dict[str, float], list[dict[str, object]]]:
    """Score ``samples`` in batches of 64; returns the summary and one row per sample."""
    n = len(samples) if keep_tail else len(samples) // BATCH * BATCH
    if n == 0:
        raise TRGError(
            f"{len(samples)} samples: fewer than one batch of {BATCH} (use "
            "--keep-tail to score them anyway)"
        )
    from tqdm import tqdm

    preds: list[Prediction] = []
    for start in tqdm(range(0, n, BATCH), unit="batch", disable=not progress):
        preds += predict(samples[start : min(start + BATCH, n)])
    used = samples[:n]
    r_p = np.stack([p.rotation for p in preds])
    t_p = np.stack([p.translation for p in preds])
    r_g = np.stack([s.r_gt for s in used])
    t_g = np.stack([s.t_gt for s in used])
    per = {
        "euler": metrics.euler_errors(r_p, r_g),
        "geodesic": metrics.geodesic_error(r_p, r_g),
        "translation": metrics.translation_errors(t_p, t_g),
        "add": np.array(
            [
                metrics.add(
                    r_p[i : i + 1], t_p[i : i + 1], r_g[i : i + 1], t_g[i : i + 1], s.add_vertices
                )[0]
                for i, s in enumerate(used)
            ]
        ),
    }
    if all(s.face_gt is not None for s in used):
        per["recon"] = np.array(
            [
                metrics.reconstruction_error(p.face_head, s.face_gt)
                for p, s in zip(preds, used, strict=True)
            ]
        )
    summary = metrics.summarise(per)
    summary["dropped_tail"] = len(samples) - n
    rows = []
    for i, s in enumerate(used):
        row: dict[str, object] = {"key": s.key}
        row.update(dict(zip(("yaw_err", "pitch_err", "roll_err"), per["euler"][i], strict=True)))
        row["ge"] = per["geodesic"][i]
        row.update(
            dict(
                zip(
                    ("tx_err_mm", "ty_err_mm", "tz_err_mm"),
                    per["translation"][i] * 1000,
                    strict=True,
                )
            )
        )
        row["add_mm"] = per["add"][i] * 1000
        if "recon" in per:
            row["recon_mm"] = per["recon"][i] * 1000
        rows.append(row)
    return summary, rows


def trg_predictor(files: ModelFiles, device: str, principal_point: str) -> Predictor:
    from trg_ros.core.model.config import TRGConfig
    from trg_ros.core.model.estimator import TRGEstimator

    est = TRGEstimator.from_files(files, TRGConfig(device, principal_point))

    def predict(batch: list[Sample]) -> list[Prediction]:
        crops = [est.crop(s.load_rgb(), [s.box], s.camera)[0] for s in batch]
        heads = est.run_crops(crops, batch[0].camera)
        return [
            Prediction(h.rotation, h.translation, (h.vertices - h.translation) @ h.rotation)
            for h in heads
        ]

    return predict


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="paper metrics on BIWI or ARKitFace")
    p.add_argument("--dataset", choices=["biwi", "arkitface"], required=True)
    p.add_argument("root", type=Path, help="BIWI hpdb folder or ARKitFace root")
    p.add_argument(
        "--annotation",
        type=Path,
        help="BIWI annot_mtcnn_fan.pkl (default: in root, else fetched into the cache)",
    )
    p.add_argument("--list", type=Path, help="ARKitFace list CSV (default: the test list)")
    p.add_argument("--weights", type=Path)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--principal-point", default="image_centre", choices=["image_centre", "camera"])
    p.add_argument("--keep-tail", action="store_true", help="also score the last partial batch")
    p.add_argument("--out", type=Path, default=Path("trg_eval_out"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = ModelFiles.in_dir(args.data_dir or assets.cache_dir(), args.weights)
    try:
        files.check()
        if args.dataset == "biwi":
            annotation = args.annotation or biwi_annotation(args.root, args.data_dir)
            samples = list(biwi_samples(args.root, annotation))
        else:
            kpt = np.load(files.landmark_vertices)
            samples = list(arkit_samples(args.root, kpt, args.list))
        predict = trg_predictor(files, args.device, args.principal_point)
        summary, rows = evaluate(samples, predict, args.keep_tail)
    except TRGError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=2))
    with (args.out / "per_sample.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for key, value in summary.items():
        print(f"{key:>16}: {value:.2f}" if isinstance(value, float) else f"{key:>16}: {value}")
    return 0
