"""``trg-ros demo``: play an input as a camera into a real ROS 2 graph with the node.

A player node publishes Image + CameraInfo (real stamps, a camera frame_id); the
``trg_head_pose`` lifecycle node runs in the same process but talks over DDS like any other;
the player collects ``heads`` and writes annotated frames or video plus a CSV and JSON.

A file (image, video, bag) is played as fast as the node answers: reliable QoS and the node's
every-frame hand-off deliver each frame once, a few frames are in flight so the node is never
idle while an answer is drawn and written, and the output keeps the frame order. A live
camera is played at its own rate and the node drops what it cannot keep up with.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import Any

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import TRGError
from trg_ros.core.estimate import MODELS
from trg_ros.tools import sources
from trg_ros.tools.bag import BagWriter
from trg_ros.tools.demo.background import prefetch
from trg_ros.tools.demo.flow import GIVE_UP, Flow
from trg_ros.tools.demo.output import Output
from trg_ros.tools.demo.player import Key, Player, offline_parameters, stamp_key
from trg_ros.tools.options import add_model_files, model_files
from trg_ros.tools.record import Recorder, summary
from trg_ros.tools.view.command import add_view_options, url
from trg_ros.tools.view.live import LiveView
from trg_ros.tools.view.scene import Scene

log = logging.getLogger(__name__)
EXIT_NO_WEIGHTS = 3
# After the last answer, the recording waits for the node's other messages of the same frames
# (TF, markers, ... published just after heads): until nothing new came for RECORD_QUIET s.
RECORD_QUIET = 0.1  # s
RECORD_WAIT = 3.0  # s at most
LIVE_ANSWER_TIMEOUT = 1.0  # s; a live camera's next frame is worth more than a late answer
GIVE_UP_IN_A_ROW = 3  # frames given up one after the other end the demo: the node is stuck


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
    p.add_argument("--view", action="store_true", help="serve a live 3-D view in the browser")
    add_view_options(p)
    p.add_argument(
        "--record", type=Path, metavar="DIR", help="also record a rosbag2/MCAP folder DIR"
    )
    p.add_argument(
        "--record-jpeg", action="store_true", help="record the image as image/compressed"
    )
    # Tests only: frames (0-based) not published the first time, as if lost on the way.
    p.add_argument("--test-drop-frames", type=int, nargs="+", default=[], help=argparse.SUPPRESS)
    p.set_defaults(func=run)


class Recording:
    """The demo's topics (its camera's and its node's) recorded by :class:`Recorder` on the
    player's node, so the demo's executor thread delivers them."""

    def __init__(self, player: Player, out: Path, jpeg: bool) -> None:
        self.out = out
        self._writer = BagWriter(out)
        self._recorder = Recorder(player.player, self._writer, jpeg)
        end = time.monotonic() + 5.0
        while not self._recorder.matched() and time.monotonic() < end:
            time.sleep(0.02)

    def settle(self, answers: int) -> None:
        """Wait until the recorder has the ``answers`` heads messages the demo got, then for
        the node's other topics to go quiet (both bounded by :data:`RECORD_WAIT`)."""
        end = time.monotonic() + RECORD_WAIT
        while self._recorder.received("heads") < answers and time.monotonic() < end:
            time.sleep(0.01)
        last, quiet_since = self._recorder.received(), time.monotonic()
        while time.monotonic() < min(end, quiet_since + RECORD_QUIET):
            time.sleep(0.01)
            if (now := self._recorder.received()) != last:
                last, quiet_since = now, time.monotonic()

    def close(self) -> None:
        self._recorder.close()
        counts = self._writer.close()
        print(f"recorded {sum(counts.values())} messages to {self.out}: {summary(counts)}")


class Intrinsics:
    """The camera of each frame: chosen again on the first frame, a new size, or a new
    CameraInfo in the bag, and said each time."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self._camera: CameraModel | None = None
        self._source: CameraModel | None = None

    def of(self, frame: sources.Frame) -> CameraModel:
        h, w = frame.rgb.shape[:2]
        camera = self._camera
        if (
            camera is not None
            and (camera.width, camera.height) == (w, h)
            and (frame.camera is None or frame.camera is self._source)
        ):
            return camera
        a = self._args
        self._source = frame.camera
        camera, how = sources.choose_camera(w, h, a.camera_info, frame.camera, a.fov, a.focal)
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
        self._camera = camera
        return camera


def run(args: argparse.Namespace) -> int:
    import cv2
    from rclpy.parameter import Parameter

    # Decoding, the node and the video writer share few cores here: OpenCV's own thread pool
    # would fight litert's XNNPACK threads, which spin while they wait (measured: 4.5 against
    # 37 frames/s with FaceMesh on two cores).
    cv2.setNumThreads(1)
    files = model_files(args)
    frames, total, live = _open_source(args)
    params = [
        Parameter("model", value=args.model),
        Parameter("data_dir", value=str(files.data_dir)),
        Parameter("weights", value=str(args.weights or "")),
        Parameter("checkpoint", value=args.checkpoint),
        Parameter("device", value=args.device),
        Parameter("camera_info_timeout", value=10.0),
        Parameter("publish_dense_points", value=bool(args.mesh or args.view)),
    ]
    # Each thing opened is closed in reverse order, all of them even when one close raises.
    with ExitStack() as opened:
        close_frames = getattr(frames, "close", None)
        if close_frames is not None:
            opened.callback(close_frames)  # stops the decoding thread when the loop ended early
        player = Player(params + ([] if live else offline_parameters()), offline=not live)
        opened.callback(player.close)
        try:
            estimator = player.start()
        except TRGError as e:
            print(
                f"{e}\n(demo: --weights PATH/TO/state_dict.bin, --model facemesh)", file=sys.stderr
            )
            return EXIT_NO_WEIGHTS
        print(f"head pose by {estimator.name}")
        recording: Recording | None = None
        if args.record:
            recording = Recording(player, args.record, args.record_jpeg)
            opened.callback(recording.close)
        video = args.image is None and (args.video or args.bag or args.camera is not None)
        triangles = estimator.triangles if args.mesh else None
        view: LiveView | None = None
        if args.view:
            meshes = {estimator.name: estimator.triangles}
            view = LiveView(Scene(args.host, args.port, meshes), args.max_rate)
            opened.callback(view.close)
            print(f"view at {url(view.scene, args.host)}", flush=True)
        output = Output(args.out, bool(video), triangles, args.mesh, args.show, view)
        opened.callback(output.close)
        play = _play_live if live else _play_offline
        started, missed = play(player, frames, total, Intrinsics(args), output, args)
        output.finish()
        elapsed = time.monotonic() - started if started is not None else 0.0
        if recording is not None:
            recording.settle(output.frames)
        if view is not None:
            _keep_serving(view, args.host)
    rate = output.frames / elapsed if elapsed > 0 else 0.0
    print(f"{len(output.rows)} face poses written to {args.out / 'poses.csv'} and poses.json")
    print(
        f"{output.frames} frames, {len(output.rows)} faces, {rate:.1f} frames/s "
        f"({elapsed:.2f} s from the first frame sent to the last row written"
        + (f"; {missed} frames without an answer)" if missed else ")")
    )
    return 0


def _keep_serving(view: LiveView, host: str) -> None:
    """The input is done; the browser keeps its last frame until Ctrl-C (or SIGTERM)."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"input done; the view stays at {url(view.scene, host)} (Ctrl-C to quit)", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass


def _play_offline(
    player: Player,
    frames: Iterator[sources.Frame],
    total: int | None,
    intrinsics: Intrinsics,
    output: Output,
    args: argparse.Namespace,
) -> tuple[float | None, int]:
    """Every frame once, a few in flight, answers handled in frame order; a frame whose
    answer is long overdue is sent again (logged), one unanswered for a minute is given up.
    Returns when the first frame was sent and how many were given up."""
    from tqdm import tqdm

    flow = Flow()
    pending: deque[tuple[int, sources.Frame, CameraModel, Key]] = deque()
    drop = set(args.test_drop_frames)
    started: float | None = None
    missed = in_a_row = 0
    index = 0
    source = iter(frames)
    held: sources.Frame | None = None  # waits until a frame of the same stamp is answered
    more = True
    with tqdm(total=total, unit="frame") as bar:
        while True:
            while more and flow.can_send():
                frame, held = held or next(source, None), None
                if frame is None:
                    more = False
                    break
                key = stamp_key(frame.stamp)
                if any(k == key for *_, k in pending):  # answers are told apart by stamp
                    held = frame
                    break
                camera = intrinsics.of(frame)
                if started is None:
                    started = time.monotonic()
                    if not player.prime(camera, frame.stamp):
                        log.warning("the node has not received the CameraInfo after 5 s")
                if index in drop:
                    log.info("frame %d not published (--test-drop-frames)", index)
                else:
                    player.publish(frame.rgb, camera, frame.stamp)
                flow.sent(key)
                pending.append((index, frame, camera, key))
                index += 1
            if not pending:
                return started, missed
            first, frame, camera, key = pending[0]
            answer = player.wait(key, flow.wait_for(key))
            if answer is not None:
                in_a_row = 0
                latency = flow.answered(key, answer[1])
                pending.popleft()
                output.add(first, frame.rgb, camera, frame.stamp, answer[0], answer[2], latency)
                bar.update(1)
                continue
            if flow.expired(key):
                log.warning("no answer from the node for frame %d: given up", first)
                flow.give_up(key)
                player.discard(key)
                pending.popleft()
                missed += 1
                in_a_row += 1
                bar.update(1)
                if in_a_row == GIVE_UP_IN_A_ROW:
                    raise TRGError(
                        f"the node answered none of the last {in_a_row} frames within "
                        f"{GIVE_UP:.0f} s each: stopping (its log above says why)"
                    )
                continue
            for i, f, c, k in pending:  # the head, and any other overdue, unanswered frame
                if flow.wait_for(k) == 0.0 and not player.answered(k):
                    log.warning(
                        "frame %d: no answer after %.1f s, sent again", i, flow.resend_after()
                    )
                    player.publish(f.rgb, c, f.stamp)
                    flow.sent(k)


def _play_live(
    player: Player,
    frames: Iterator[sources.Frame],
    total: int | None,
    intrinsics: Intrinsics,
    output: Output,
    args: argparse.Namespace,
) -> tuple[float | None, int]:
    """At the camera's pace: a frame not answered in time is left (counted) for the next."""
    started: float | None = None
    missed = 0
    for index, frame in enumerate(frames):
        camera = intrinsics.of(frame)
        if started is None:
            started = time.monotonic()
        sent = time.monotonic()
        answer = player.wait(player.publish(frame.rgb, camera, frame.stamp), LIVE_ANSWER_TIMEOUT)
        if answer is None:
            missed += 1
            log.warning("no answer from the node for frame %d (%d so far)", index, missed)
            continue
        msg, arrived, signals = answer
        output.add(index, frame.rgb, camera, frame.stamp, msg, signals, arrived - sent)
    return started, missed


def _open_source(args: argparse.Namespace) -> tuple[Any, int | None, bool]:
    """(frames, how many if known, live?); files are decoded ahead on a thread of their own."""
    limit = args.max_frames or None
    if args.camera is not None:
        return islice(sources.video_frames(args.camera, live=True), limit), None, True
    if args.video:
        frames = sources.video_frames(str(args.video))
        total = sources.video_length(args.video)
    elif args.bag:
        frames, total = sources.bag_frames(args.bag, args.image_topic, args.info_topic), None
    else:
        rgb = sources.read_image(args.image) if args.image else sources.sample_image()
        frames, total = sources.image_frames(rgb), 1
    if limit and total:
        total = min(total, limit)
    return prefetch(islice(frames, limit)), total, False
