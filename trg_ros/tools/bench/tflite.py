"""Benches of the TFLite networks (BlazeFace, FaceMesh) on each CPU runtime, and of the FaceMesh
estimator built on them.

The PyTorch conversion is the baseline. litert (what runs them on the CPU) and, for the record
of why it was chosen, onnxruntime running an ONNX export of the same conversion are timed
against it in alternating turns of one run, so that a shared machine whose speed drifts during
the run weighs on every runtime alike. Each network's arithmetic rate is printed as a share of
a float32 matrix product's rate timed in the same turns: a yardstick of what the cores could do
at that moment (a dense product is about the best case; depthwise convolutions get less).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.detect.files import DETECTOR
from trg_ros.core.device import resolve_device
from trg_ros.core.errors import TRGError
from trg_ros.core.facemesh.files import LANDMARKER
from trg_ros.core.model.runtime import onnx_available
from trg_ros.core.tflite.files import converted_path
from trg_ros.core.tflite.runtime import litert_available
from trg_ros.tools.bench.measure import machine_info, measure, print_table, summary
from trg_ros.tools.sources import sample_image

Run = Callable[[np.ndarray], list[np.ndarray]]
MATMUL = 1024  # side of the yardstick's matrices
# The networks take 1-10 ms a call: each is timed this many times --repeats, in more turns, so
# that a machine whose speed drifts averages out.
CALLS_PER_REPEAT = 5
NET_COLUMNS = ["net ms", "net vs torch", "GFLOP/s", "of matmul"]


def _runtimes(device: torch.device) -> list[str]:
    """The PyTorch conversion (the baseline) first, then litert where it can run."""
    return ["torch"] + (["litert"] if device.type == "cpu" and litert_available() else [])


def _canvas(w: int, h: int) -> np.ndarray:
    """The astronaut scaled to the frame height, centred on a black (w, h) frame."""
    canvas = np.zeros((h, w, 3), np.uint8)
    x0 = (w - h) // 2
    canvas[:, x0 : x0 + h] = cv2.resize(sample_image(), (h, h))
    return canvas


def alternating(
    fns: dict[str, Callable[[], object]], repeats: int, settle_s: float = 0.025
) -> dict[str, float]:
    """p50 ms per call of each function over ``repeats`` calls, taken in turns of up to ten
    calls each, in a new (seeded) random order each round so that no function is always timed
    right after the same other. Each turn starts with untimed calls for ``settle_s``: the
    threads of what ran before can go on spinning and would be charged to this one (measured:
    the first BlazeFace call after a PyTorch op takes twice as long; it settles in 10-15 ms)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    turn = max(1, min(10, repeats // 4))
    names = list(fns)
    order = np.random.default_rng(0)
    times: dict[str, list[float]] = {name: [] for name in names}
    while any(len(t) < repeats for t in times.values()):
        for i in order.permutation(len(names)):
            name, fn = names[i], fns[names[i]]
            if len(times[name]) >= repeats:
                continue
            start = time.perf_counter()
            fn()
            while time.perf_counter() - start < settle_s:
                fn()
            for _ in range(min(turn, repeats - len(times[name]))):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t) * 1e3) for name, t in times.items()}


def multiply_accumulates(converted: Path, input_hw: int) -> int:
    """Multiply-accumulates of one forward pass of a converted network (its convolutions; the
    element-wise operations are a rounding error next to them)."""
    from trg_ros.core.tflite.convert import load_converted

    net, total = load_converted(converted), 0

    def count(conv: torch.nn.Module, _: object, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * int(np.prod(conv.weight.shape[1:]))

    for conv in net.convs.values():
        conv.register_forward_hook(count)
    with torch.inference_mode():
        net(torch.zeros(1, 3, input_hw, input_hw))
    return total


def matmul() -> Callable[[], object]:
    """A float32 matrix product in PyTorch on the CPU (its threads): timed in the same turns as
    the networks, it says what the cores could do at that moment."""
    a, b = torch.randn(MATMUL, MATMUL), torch.randn(MATMUL, MATMUL)
    return lambda: a @ b


def onnxruntime_run(converted: Path, input_hw: int) -> Run | None:
    """onnxruntime on an ONNX export of the PyTorch conversion, fed the TFLite (NHWC) layout
    like litert; None where onnx/onnxruntime are not installed.

    Raises:
        TRGError: the export does not compute what the conversion computes.
    """
    if not onnx_available():
        return None
    from trg_ros.core.model.onnx import OPSET, cpu_session
    from trg_ros.core.tflite.convert import load_converted

    class Nhwc(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = load_converted(converted)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return tuple(self.net(x.permute(0, 3, 1, 2)))

    module = Nhwc().eval()

    def export(path: Path) -> None:
        with warnings.catch_warnings():
            # the legacy exporter's deprecation, and its note on a Slice it leaves unfolded
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", "Constant folding", UserWarning)
            torch.onnx.export(
                module,
                (torch.zeros(1, input_hw, input_hw, 3),),
                str(path),
                opset_version=OPSET,
                dynamo=False,
                input_names=["x"],
                dynamic_axes={"x": {0: "batch"}},
            )

    # as the node runs onnxruntime: threads stop spinning when a run returns, so they do not
    # slow down the turn that follows
    session = cpu_session(export, torch.get_num_threads())
    x = np.random.default_rng(0).uniform(0, 1, (1, input_hw, input_hw, 3)).astype(np.float32)
    with torch.inference_mode():
        want = [y.numpy() for y in module(torch.from_numpy(x))]
    for got, ref in zip(session.run(None, {"x": x}), want, strict=True):
        err = float((np.abs(got - ref) / np.maximum(1.0, np.abs(ref))).max())
        if err > 1e-3:
            raise TRGError(f"the ONNX export of {converted.name} is off by {err:.1e}")
    return lambda x: session.run(None, {"x": x})


def _contenders(
    converted: Path, input_hw: int, device: torch.device
) -> tuple[list[str], Run | None, int]:
    """The runtimes to time on ``device`` (onnxruntime only on the CPU, where it is installed),
    onnxruntime's runner, and the network's multiply-accumulates."""
    ort = onnxruntime_run(converted, input_hw) if device.type == "cpu" else None
    runtimes = _runtimes(device) + (["onnxruntime"] if ort else [])
    return runtimes, ort, multiply_accumulates(converted, input_hw)


def _shared_turns(device: torch.device, ort: Run | None, x: np.ndarray) -> dict[str, Callable]:
    """What is timed besides litert and PyTorch: the yardstick (on the CPU) and onnxruntime."""
    fns: dict[str, Callable[[], object]] = {"matmul": matmul()} if device.type == "cpu" else {}
    if ort:
        fns["onnxruntime net"] = lambda: ort(x)
    return fns


def _gflops(multiply_accumulates: int, ms: float) -> float:
    return 2 * multiply_accumulates / (ms * 1e-3) / 1e9


def _compare(
    ms: dict[str, float], runtimes: list[str], macs: int, whole: str, faces: int = 1
) -> list[dict[str, Any]]:
    """One row per runtime from ``alternating``'s times of "<runtime> net" and, for the runtimes
    that run in the product, "<runtime> <whole>" (per face); ratios against the PyTorch
    conversion, and each network's arithmetic rate against "matmul" of the same turns."""
    matmul_gflops = _gflops(MATMUL**3, ms["matmul"]) if "matmul" in ms else None
    per_face = {k: v / faces for k, v in ms.items() if k != "matmul"}
    rows = []
    for rt in runtimes:
        net_ms, whole_ms = per_face[f"{rt} net"], per_face.get(f"{rt} {whole}")
        row: dict[str, Any] = {"runtime": rt, "net_ms": net_ms, f"{whole}_ms": whole_ms}
        row["net_speedup"] = per_face["torch net"] / net_ms
        row["speedup"] = per_face[f"torch {whole}"] / whole_ms if whole_ms else None
        row["gflops"] = _gflops(macs, net_ms)
        row["matmul_gflops"] = matmul_gflops
        row["of_matmul"] = row["gflops"] / matmul_gflops if matmul_gflops else None
        rows.append(row)
    return rows


def _cells(row: dict[str, Any], whole: str) -> list[str]:
    """A row's printed cells; "-" for what was not measured (onnxruntime's whole step, the
    yardstick off the CPU)."""
    cells = [f"{row['net_ms']:.2f}", f"{row['net_speedup']:.2f}x"]
    cells += [f"{row['gflops']:.0f}", f"{row['of_matmul']:.0%}" if row["of_matmul"] else "-"]
    if row[f"{whole}_ms"] is None:
        return [*cells, "-", "-"]
    return [*cells, f"{row[f'{whole}_ms']:.2f}", f"{row['speedup']:.2f}x"]


def _title(what: str, device: torch.device) -> str:
    """The table's title, saying what each column is measured against."""
    cpu_only = (
        f"; onnxruntime runs its ONNX export, network only; of matmul: against a {MATMUL}^3 "
        "float32 matrix product in the same turns"
    )
    return (
        f"{what}, p50 (baseline: the PyTorch conversion{cpu_only if device.type == 'cpu' else ''})"
    )


def detector(files: ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """BlazeFace per frame with each runtime; ratios against the PyTorch conversion."""
    from trg_ros.core.detect.blazeface import INPUT_SIZE, BlazeFace, letterbox

    device = resolve_device(args.device)
    info = machine_info(device)
    nets = {rt: BlazeFace(files.detector, device=device, runtime=rt) for rt in _runtimes(device)}
    runtimes, ort, macs = _contenders(files.detector, INPUT_SIZE, device)
    rows, results = [], []
    for w, h in ((640, 480), (1280, 720), (1920, 1080)):
        canvas = _canvas(w, h)
        inp = letterbox(canvas)[0][None]
        fns = _shared_turns(device, ort, inp)
        for rt, net in nets.items():
            fns[f"{rt} net"] = lambda n=net, x=inp: n.raw(x)
            fns[f"{rt} detect"] = lambda n=net, c=canvas: n.detect(c)
        ms = alternating(fns, args.repeats * CALLS_PER_REPEAT)
        for row in _compare(ms, runtimes, macs, "detect"):
            found = len(nets[row["runtime"]].detect(canvas)) if row["runtime"] in nets else "-"
            results.append({"size": f"{w}x{h}", **row, "faces": found})
            rows.append([f"{w}x{h}", row["runtime"], *_cells(row, "detect"), found])
    print_table(
        _title("BlazeFace full-range per frame", device),
        ["image", "runtime", *NET_COLUMNS, "detect ms", "vs torch", "faces"],
        rows,
    )
    return {"machine": info, "detector": results}


def facemesh(
    data_dir: Path, repeats: int = 30, device: str = "cpu", faces: tuple[int, ...] = (1, 2, 4, 8)
) -> dict[str, Any]:
    """FaceMesh latency per face (crop, network, projection) for 1..8 faces of a frame, with
    each runtime; prints a table and returns the rows."""
    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.facemesh.landmarker import INPUT_SIZE, FaceLandmarker, roi_from_detection

    dev = resolve_device(device)
    info = machine_info(dev)
    image = sample_image()
    found = BlazeFace(Path(data_dir) / DETECTOR)
    roi = roi_from_detection(found.detect(image)[0])
    marks = {rt: FaceLandmarker.from_dir(data_dir, dev, rt) for rt in _runtimes(dev)}
    converted = converted_path(Path(data_dir) / LANDMARKER)
    runtimes, ort, macs = _contenders(converted, INPUT_SIZE, dev)
    crop = marks["torch"].crop(image, roi)
    rows, results = [], []
    for n in faces:
        batch = np.repeat(crop[None], n, 0)
        fns = _shared_turns(dev, ort, batch)
        for rt, mark in marks.items():
            fns[f"{rt} net"] = lambda m=mark, b=batch: m.net.run(b)
            fns[f"{rt} landmarks"] = lambda m=mark, k=n: m.landmarks(image, [roi] * k)
        ms = alternating(fns, repeats * CALLS_PER_REPEAT)
        for row in _compare(ms, runtimes, macs, "landmarks", n):
            results.append({"faces": n, **row})
            rows.append([row["runtime"], n, *_cells(row, "landmarks")])
    print_table(
        _title(f"FaceMesh v2 per face ({dev}, {torch.get_num_threads()} threads)", dev),
        ["runtime", "faces", *NET_COLUMNS, "landmarks ms", "vs torch"],
        rows,
    )
    return {"machine": info, "facemesh": results}


def facemesh_estimate_ms(files: ModelFiles, device: str, repeats: int) -> float:
    """The bundled estimator's whole cost for one face: ROI, landmarks, metric pose."""
    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.estimate import FaceQuery
    from trg_ros.core.facemesh.config import FaceMeshConfig
    from trg_ros.core.facemesh.estimator import FaceMeshEstimator

    image = sample_image()
    found = BlazeFace(files.detector).detect(image)[0]
    camera = CameraModel(np.array([[600.0, 0, 256], [0, 600, 256], [0, 0, 1]]), 512, 512)
    estimator = FaceMeshEstimator.from_dir(files.data_dir, FaceMeshConfig(device))
    query = [FaceQuery(found.box, found.score, True, found.keypoints)]
    ms = summary(measure(lambda: estimator.estimate(image, query, camera), repeats), 1)["p50_ms"]
    print(f"FaceMesh estimator, one face (ROI, landmarks, metric pose): {ms:.2f} ms")
    return ms
