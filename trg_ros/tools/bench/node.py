"""The node as users run it - ``trg-ros node`` in its own process - timed from this process:
image published -> ``heads`` received, frame by frame and under a steady camera rate.

Topics live under a private namespace and DDS stays on this host, so the bench neither sees nor
disturbs a running robot graph. The node's own per-stage times come from its diagnostics.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.tools.bench.inputs import faces_frame
from trg_ros.tools.bench.measure import print_table, summary

STAGES = ("transport", "queue", "convert", "detect", "estimate", "signals", "track", "publish")


@dataclass
class Answers:
    """What came back: per image stamp, when it was sent and when its ``heads`` arrived."""

    sent: dict[tuple[int, int], float] = field(default_factory=dict)
    arrived: dict[tuple[int, int], float] = field(default_factory=dict)
    faces: dict[tuple[int, int], int] = field(default_factory=dict)

    def latencies(self, since: float = 0.0) -> np.ndarray:
        """Seconds from publishing to receiving, for answered images sent after ``since``."""
        keys = [k for k in self.arrived if self.sent.get(k, -1.0) >= since]
        return np.array([self.arrived[k] - self.sent[k] for k in keys])


class Camera:
    """A camera and a listener in this process, talking to the node over DDS."""

    def __init__(self, namespace: str) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image

        from trg_ros.msg import HeadPoseArray

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(
            "trg_bench_camera", namespace=namespace, context=self.context
        )
        self.pub_img = self.node.create_publisher(Image, "image", qos_profile_sensor_data)
        self.pub_info = self.node.create_publisher(
            CameraInfo, "camera_info", qos_profile_sensor_data
        )
        self.answers = Answers()
        self.diagnostics: dict[str, str] = {}
        self.lock = threading.Condition()
        self.node.create_subscription(HeadPoseArray, "heads", self._on_heads, 50)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self.namespace = namespace

    def _on_heads(self, msg: Any) -> None:
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        with self.lock:
            self.answers.arrived[key] = time.time()
            self.answers.faces[key] = len(msg.heads)
            self.lock.notify_all()

    def _on_diag(self, msg: Any) -> None:
        for status in msg.status:
            if status.name.startswith(f"{self.namespace}/"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def publish(self, image_msg: Any, info: Any) -> tuple[int, int]:
        """Stamp with the current time and publish; returns the stamp key."""
        from builtin_interfaces.msg import Time

        now = time.time()
        sec = int(now)
        stamp = Time(sec=sec, nanosec=int((now - sec) * 1e9))
        image_msg.header.stamp = info.header.stamp = stamp
        key = (stamp.sec, stamp.nanosec)
        with self.lock:
            self.answers.sent[key] = now
        self.pub_info.publish(info)
        self.pub_img.publish(image_msg)
        return key

    def wait(self, key: tuple[int, int], timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: key in self.answers.arrived, timeout)

    def ready(self, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.pub_img.get_subscription_count() and self.node.count_publishers("heads"):
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.thread.join(timeout=5)  # spin() returns once the executor is shut down
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.context.destroy()


def messages_for(rgb: np.ndarray, camera: CameraModel) -> tuple[Any, Any]:
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    from trg_ros.ros.convert import rgb_to_image

    header = Header(frame_id="bench_camera")
    info = CameraInfo(header=header, width=camera.width, height=camera.height)
    info.distortion_model = "plumb_bob"
    info.k = camera.k.ravel().tolist()
    info.d = [0.0] * 5
    return rgb_to_image(rgb, header), info


def start_node(
    namespace: str, params: dict[str, Any], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``trg-ros node`` in its own process under ``namespace`` (``env``: its environment)."""
    cmd = [sys.executable, "-m", "trg_ros.cli", "node", "--ros-args", "-r", f"__ns:={namespace}"]
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    with log.open("w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop_node(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def keep_local() -> None:
    """DDS on this host only, fast discovery (before any rclpy context is made)."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    profile = Path(__file__).resolve().parents[2] / "config" / "fastdds_local.xml"
    if profile.is_file():
        os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(profile))


def frame_by_frame(
    camera: Camera, msgs: tuple[Any, Any], count: int, warmup: int = 5
) -> np.ndarray:
    """Each image answered before the next is sent: latencies (s) without queueing."""
    times = []
    for i in range(count + warmup):
        key = camera.publish(*msgs)
        if camera.wait(key, 30.0) and i >= warmup:
            times.append(camera.answers.arrived[key] - camera.answers.sent[key])
    return np.array(times)


def at_rate(camera: Camera, msgs: tuple[Any, Any], hz: float, seconds: float) -> dict[str, Any]:
    """A camera publishing at ``hz`` for ``seconds``: how many frames were answered, and the
    latency at the start and the end (does it grow?)."""
    start = time.time()
    first = len(camera.answers.sent)
    period, t_next = 1.0 / hz, time.monotonic()
    while time.time() - start < seconds:
        camera.publish(*msgs)
        t_next += period
        time.sleep(max(0.0, t_next - time.monotonic()))
    time.sleep(1.0)  # the last answers
    sent = len(camera.answers.sent) - first
    lat = camera.answers.latencies(since=start)
    early = lat[: max(1, len(lat) // 6)]
    late = camera.answers.latencies(since=start + seconds * 5 / 6)
    return {
        "hz": hz,
        "seconds": seconds,
        "sent": sent,
        "answered": len(lat),
        "answered_hz": len(lat) / seconds,
        "p50_ms": float(np.median(lat) * 1e3) if len(lat) else float("nan"),
        "first_sixth_p50_ms": float(np.median(early) * 1e3) if len(early) else float("nan"),
        "last_sixth_p50_ms": float(np.median(late) * 1e3) if len(late) else float("nan"),
    }


def node_runs(files: ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """The node in its own process: TRG and FaceMesh frame by frame, then TRG at 30 and 60 Hz."""
    keep_local()
    rgb = faces_frame(1, 640, 480)
    camera = CameraModel(np.array([[640.0, 0, 320], [0, 640, 240], [0, 0, 1]]), 640, 480)
    msgs = messages_for(rgb, camera)
    out: dict[str, Any] = {}
    for model in ("trg", "facemesh"):
        ns = f"/trg_ros_bench_{model}"
        params = {
            "model": model,
            "data_dir": files.data_dir,
            "weights": files.weights,
            "device": args.device,
            "smoothing": "false",
        }
        with tempfile.TemporaryDirectory() as tmp:
            proc = start_node(ns, params, Path(tmp) / "node.log")
            cam = Camera(ns)
            try:
                if not cam.ready():
                    raise RuntimeError(f"the {model} node did not come up")
                times = frame_by_frame(cam, msgs, args.repeats)
                time.sleep(1.5)  # one more diagnostics message with these frames' stages
                diag = cam.diagnostics
                stages = {s: float(diag.get(f"stage_{s}_p50_ms", "nan")) for s in STAGES}
                entry: dict[str, Any] = {**summary(times, 1), "stages_p50_ms": stages}
                if model == "trg" and args.load_seconds > 0:
                    entry["load"] = [at_rate(cam, msgs, hz, args.load_seconds) for hz in (30, 60)]
                out[model] = entry
            finally:
                cam.close()
                stop_node(proc)
    rows = []
    for model, e in out.items():
        stage_cells = [f"{e['stages_p50_ms'][s]:.1f}" for s in STAGES]
        rows.append([model, f"{e['p50_ms']:.1f}", f"{e['p90_ms']:.1f}", *stage_cells])
    print_table(
        "Through the node over DDS (own process, 640x480, 1 face, frame by frame), ms",
        ["model", "p50", "p90", *STAGES],
        rows,
    )
    for load in out.get("trg", {}).get("load", []):
        print(
            f"TRG at {load['hz']} Hz for {load['seconds']:g} s: {load['answered']} of "
            f"{load['sent']} frames answered ({load['answered_hz']:.1f}/s), p50 "
            f"{load['p50_ms']:.1f} ms (first sixth {load['first_sixth_p50_ms']:.1f}, last sixth "
            f"{load['last_sixth_p50_ms']:.1f})"
        )
    return out
