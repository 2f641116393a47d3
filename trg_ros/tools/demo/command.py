"""``trg-ros demo``: play an input as a camera into a real ROS 2 graph with the node.

A player node publishes Image + CameraInfo (real stamps, a camera frame_id); the
``trg_head_pose`` lifecycle node runs in the same process but talks over DDS like any other;
the player collects ``heads`` and writes annotated frames or video plus a CSV and JSON.
Files are played frame by frame (each frame is answered before the next is sent); a live
camera is played at its own rate and the node drops what it cannot keep up with.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import TRGError
from trg_ros.core.estimate import MODELS, Estimator
from trg_ros.tools import sources
from trg_ros.tools.annotate import CONVENTIONS, CSV_COLUMNS, FaceRow, draw
from trg_ros.tools.options import add_model_files, model_files

log = logging.getLogger(__name__)
EXIT_NO_WEIGHTS = 3
FRAME_ID = "camera_optical_frame"
ANSWER_TIMEOUT = 60.0  # s to wait for the node's answer to one frame
RESEND = 2.0  # s after which an unanswered frame is published again


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the node on an image, video, bag or webcam")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--image", type=Path, help="an image file")
    src.add_argument("--video", type=Path, help="any video OpenCV can read")
    src.add_argument("--bag", type=Path, help="a ROS 2 bag (.mcap or .db3 folder/file)")
    src.add_argument("--camera", type=int, metavar="N", help="live webcam N")
    p.add_argument("--image-topic", help="bag image topic (default: the first image topic)")
    p.add_argument("--info-topic", help="bag CameraInfo topic (default: beside the images)")
    p.add_argument("--camera-info", type=Path, help="camera_calibration YAML with intrinsics")
    p.add_argument("--fov", type=float, help="horizontal field of view in degrees")
    p.add_argument("--focal", type=float, help="focal length in pixels")
    p.add_argument("--out", type=Path, default=Path("trg_demo_out"), help="output folder")
    p.add_argument(
        "--model",
        choices=MODELS,
        default="auto",
        help="auto: TRG when its checkpoint is there, else the bundled FaceMesh",
    )
    add_model_files(p)
    p.add_argument("--device", default="auto")
    p.add_argument("--mesh", action="store_true", help="draw the face mesh")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: all)")
    p.add_argument("--show", action="store_true", help="show a live window")
    p.set_defaults(func=run)


class Player:
    """The camera stand-in and result collector (a plain rclpy node)."""

    def __init__(self, node_params: list) -> None:
        import rclpy
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image

        from trg_ros.msg import HeadPoseArray
        from trg_ros.ros.node import HeadPoseNode

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = HeadPoseNode(context=self.context, parameter_overrides=node_params)
        self.player = rclpy.create_node("trg_demo_player", context=self.context)
        self.pub_img = self.player.create_publisher(Image, "image", qos_profile_sensor_data)
        self.pub_info = self.player.create_publisher(
            CameraInfo, "camera_info", qos_profile_sensor_data
        )
        self.results: dict[tuple[int, int], object] = {}
        self.arrivals: dict[tuple[int, int], float] = {}  # wall-clock time each answer came
        self.cond = threading.Condition()
        self.player.create_subscription(HeadPoseArray, "heads", self._on_heads, 50)
        self.executor = MultiThreadedExecutor(num_threads=3, context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.player)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)

    def start(self) -> Estimator:
        """Configure and activate the node; returns the estimator it chose.

        Raises:
            TRGError: the node could not configure (the message says why).
        """
        from rclpy.lifecycle import TransitionCallbackReturn

        if self.node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            raise TRGError(self.node.configure_error or "the node failed to configure")
        assert self.node.pipeline is not None
        self.node.trigger_activate()
        self.thread.start()
        end = time.monotonic() + 20
        while time.monotonic() < end and not (
            self.pub_img.get_subscription_count()
            and self.pub_info.get_subscription_count()
            and self.player.count_publishers("heads")
        ):
            time.sleep(0.05)
        return self.node.pipeline.estimator

    def _on_heads(self, msg: object) -> None:
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)  # type: ignore[attr-defined]
        with self.cond:
            self.results[key] = msg
            self.arrivals[key] = time.time()
            self.cond.notify_all()

    def publish(self, rgb: np.ndarray, camera: CameraModel, stamp: float) -> tuple[int, int]:
        from builtin_interfaces.msg import Time
        from sensor_msgs.msg import CameraInfo
        from std_msgs.msg import Header

        from trg_ros.ros.convert import rgb_to_image

        sec = int(stamp)
        header = Header(
            stamp=Time(sec=sec, nanosec=round((stamp - sec) * 1e9) % 10**9), frame_id=FRAME_ID
        )
        info = CameraInfo(
            header=header, width=camera.width, height=camera.height, distortion_model="plumb_bob"
        )
        info.k = camera.k.ravel().tolist()
        info.d = (camera.dist.tolist() + [0.0] * 5)[: max(5, camera.dist.size)]
        self.pub_info.publish(info)
        self.pub_img.publish(rgb_to_image(rgb, header))
        return header.stamp.sec, header.stamp.nanosec

    def request(
        self, rgb: np.ndarray, camera: CameraModel, stamp: float, timeout: float, resend: float
    ) -> object | None:
        """Publish a frame and wait for its ``heads``; best-effort images can be lost on the
        way, so the same frame (same stamp) is sent again every ``resend`` seconds."""
        end = time.monotonic() + timeout
        while True:
            key = self.publish(rgb, camera, stamp)
            left = end - time.monotonic()
            msg = self.wait(key, min(resend, left))
            if msg is not None or left <= resend:
                return msg

    def wait(self, key: tuple[int, int], timeout: float) -> object | None:
        with self.cond:
            self.cond.wait_for(lambda: key in self.results, timeout)
            return self.results.pop(key, None)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.release()
        self.node.destroy_node()
        self.player.destroy_node()
        rclpy.shutdown(context=self.context)
        self.context.destroy()  # frees the DDS participant (and its shared memory) now


def rows_from(msg: object, stamp: float, index: int, with_3d: bool) -> list[FaceRow]:
    rows = []
    for h in msg.heads:  # type: ignore[attr-defined]
        p, q = h.pose.position, h.pose.orientation
        verts = (
            np.asarray(h.dense_points, float).reshape(-1, 3)
            if with_3d and len(h.dense_points)
            else None
        )
        rows.append(
            FaceRow(
                stamp,
                index,
                h.id,
                h.model,
                h.score,
                np.array([p.x, p.y, p.z]),
                np.array([q.x, q.y, q.z, q.w]),
                np.asarray(h.box, float),
                np.asarray(h.landmarks_2d, float).reshape(-1, 2),
                verts,
            )
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from rclpy.parameter import Parameter

    files = model_files(args)
    frames, total, live = _open_source(args)
    params = [
        Parameter("model", value=args.model),
        Parameter("data_dir", value=str(files.data_dir)),
        Parameter("weights", value=str(args.weights or "")),
        Parameter("checkpoint", value=args.checkpoint),
        Parameter("device", value=args.device),
        Parameter("camera_info_timeout", value=10.0),
        Parameter("publish_dense_points", value=bool(args.mesh)),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    player = Player(params)
    writer = None
    rows: list[FaceRow] = []
    camera = source_camera = None
    try:
        try:
            estimator = player.start()
        except TRGError as e:
            print(
                f"{e}\n(demo: --weights PATH/TO/state_dict.bin, --model facemesh)", file=sys.stderr
            )
            return EXIT_NO_WEIGHTS
        print(f"head pose by {estimator.name}")
        triangles = estimator.triangles if args.mesh else None
        from tqdm import tqdm

        for index, frame in enumerate(tqdm(frames, total=total, unit="frame", disable=live)):
            if args.max_frames and index >= args.max_frames:
                break
            size = frame.rgb.shape[1::-1]
            if (
                camera is None
                or (camera.width, camera.height) != size
                or (frame.camera is not None and frame.camera is not source_camera)
            ):  # first frame, new size, or the bag's CameraInfo changed
                source_camera = frame.camera
                camera, how = sources.choose_camera(
                    frame.rgb.shape[1],
                    frame.rgb.shape[0],
                    args.camera_info,
                    frame.camera,
                    args.fov,
                    args.focal,
                )
                print(
                    f"intrinsics from {how}: fx={camera.fx:.1f} fy={camera.fy:.1f} "
                    f"cx={camera.principal_point[0]:.1f} cy={camera.principal_point[1]:.1f}"
                )
                if camera.guessed:
                    print(
                        "WARNING: no calibration given (--camera-info, --fov or --focal): "
                        "the focal length is a guess, so translations are only relative",
                        file=sys.stderr,
                    )
            if live:  # the next camera frame is more useful than a resent one
                msg = player.wait(player.publish(frame.rgb, camera, frame.stamp), 1.0)
            else:
                msg = player.request(frame.rgb, camera, frame.stamp, ANSWER_TIMEOUT, RESEND)
            if msg is None:
                log.warning("no answer from the node for frame %d", index)
                continue
            faces = rows_from(msg, frame.stamp, index, args.mesh)
            rows += faces
            annotated = cv2.cvtColor(draw(frame.rgb, faces, camera, triangles), cv2.COLOR_RGB2BGR)
            writer = _write(args, annotated, index, writer, total)
            if args.show:
                _show(annotated)
    finally:
        player.close()
        if writer is not None:
            writer.release()
    _write_tables(args.out, rows)
    print(f"{len(rows)} face poses written to {args.out / 'poses.csv'} and poses.json")
    return 0


def _open_source(args: argparse.Namespace):
    if args.video:
        return sources.video_frames(str(args.video)), sources.video_length(args.video), False
    if args.bag:
        return sources.bag_frames(args.bag, args.image_topic, args.info_topic), None, False
    if args.camera is not None:
        return sources.video_frames(args.camera, live=True), None, True
    rgb = sources.read_image(args.image) if args.image else sources.sample_image()
    return sources.image_frames(rgb), 1, False


def _write(args, bgr: np.ndarray, index: int, writer, total: int | None):
    if args.video or args.bag or args.camera is not None:
        if writer is None:
            h, w = bgr.shape[:2]
            writer = cv2.VideoWriter(
                str(args.out / "annotated.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h)
            )
        writer.write(bgr)
        return writer
    cv2.imwrite(str(args.out / "annotated.png"), bgr)
    return None


def _show(bgr: np.ndarray) -> None:
    try:
        cv2.imshow("trg-ros demo", bgr)
        cv2.waitKey(1)
    except cv2.error as e:
        raise TRGError(
            f"--show needs an OpenCV build with GUI support ({e}); the annotated "
            "output is written to --out anyway"
        ) from e


def _write_tables(out: Path, rows: list[FaceRow]) -> None:
    with (out / "poses.csv").open("w", newline="") as f:
        f.write(f"# {CONVENTIONS}\n")
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        w.writerows(r.csv() for r in rows)
    data = {
        "conventions": CONVENTIONS,
        "frame_id": FRAME_ID,
        "poses": [
            dict(zip(CSV_COLUMNS, r.csv(), strict=True)) | {"box": r.box.tolist()} for r in rows
        ],
    }
    (out / "poses.json").write_text(json.dumps(data, indent=1))
