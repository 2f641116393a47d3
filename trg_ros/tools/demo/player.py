"""The camera stand-in and result collector: a plain rclpy node beside the real lifecycle
node, in one process but talking to it over DDS like any other."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import TRGError
from trg_ros.core.estimate import Estimator

FRAME_ID = "camera_optical_frame"
Key = tuple[int, int]  # an image stamp (sec, nanosec): what pairs a frame with its answer


def stamp_key(stamp: float) -> Key:
    """The header stamp a frame of ``stamp`` seconds is published with."""
    sec = int(stamp)
    return sec, round((stamp - sec) * 1e9) % 10**9


def offline_parameters() -> list[Any]:
    """What makes the node take every frame of an offline source: reliable inputs (nothing
    lost on the way) and the in-order hand-off (nothing replaced while a frame is processed)."""
    from rclpy.parameter import Parameter

    return [
        Parameter("every_frame", value=True),
        Parameter("qos_overrides./image.subscription.reliability", value="reliable"),
        Parameter("qos_overrides./camera_info.subscription.reliability", value="reliable"),
    ]


class Player:
    """Publishes Image + CameraInfo with real stamps and collects the node's ``heads`` (and
    ``face_signals``).

    ``offline``: reliable publishers, for a node started with :func:`offline_parameters`;
    otherwise sensor-data QoS, as a live camera driver publishes.
    """

    def __init__(self, node_params: list[Any], offline: bool) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image

        from trg_ros.msg import FaceSignalsArray, HeadPoseArray
        from trg_ros.ros.node import HeadPoseNode

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = HeadPoseNode(context=self.context, parameter_overrides=node_params)
        self.player = rclpy.create_node("trg_demo_player", context=self.context)
        qos = QoSProfile(depth=10) if offline else qos_profile_sensor_data
        self.pub_img = self.player.create_publisher(Image, "image", qos)
        self.pub_info = self.player.create_publisher(CameraInfo, "camera_info", qos)
        self.results: dict[Key, Any] = {}
        self.arrivals: dict[Key, float] = {}  # monotonic s each answer came
        self._done: set[Key] = set()  # handled or given up: later answers are ignored
        self.cond = threading.Condition()
        self.signals: dict[Key, Any] = {}
        self._with_signals = False  # set on start: whether the node publishes face_signals
        self.player.create_subscription(HeadPoseArray, "heads", self._on_heads, 50)
        self.player.create_subscription(FaceSignalsArray, "face_signals", self._on_signals, 50)
        # One thread, as ``trg-ros node`` spins: the callbacks only hand frames over, and
        # rclpy's MultiThreadedExecutor took most of a core of two (the demo ran at half speed).
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.player)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)

    def start(self) -> Estimator:
        """Configure and activate the node; returns the estimator it chose.

        Raises:
            TRGError: the node could not configure or activate, or its topics did not connect
                (the message says why).
        """
        from rclpy.lifecycle import TransitionCallbackReturn

        if self.node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            raise TRGError(self.node.configure_error or "the node failed to configure")
        assert self.node.pipeline is not None
        self._with_signals = self.node.pipeline.signals is not None
        if self.node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            raise TRGError("the node failed to activate (its log above says why)")
        self.thread.start()
        end = time.monotonic() + 20
        while not (
            self.pub_img.get_subscription_count()
            and self.pub_info.get_subscription_count()
            and self.player.count_publishers("heads")
        ):
            if time.monotonic() > end:
                raise TRGError("the node's topics did not connect to the player within 20 s")
            time.sleep(0.05)
        return self.node.pipeline.estimator

    def _on_heads(self, msg: Any) -> None:
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        with self.cond:
            if key in self._done:
                return  # a late duplicate (a frame sent again that was only slow)
            self.results[key] = msg
            self.arrivals[key] = time.monotonic()
            self.cond.notify_all()

    def _on_signals(self, msg: Any) -> None:
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        with self.cond:
            if key in self._done:
                return
            self.signals[key] = msg
            self.cond.notify_all()

    def prime(self, camera: CameraModel, stamp: float, timeout: float = 5.0) -> bool:
        """Publish the CameraInfo until the node holds it, so the first image (which the
        executor may hand over before the CameraInfo beside it) is not dropped as early."""
        end = time.monotonic() + timeout
        while FRAME_ID not in self.node.camera_info_frames:
            if time.monotonic() > end:
                return False
            self.pub_info.publish(self._info(camera, stamp))
            time.sleep(0.02)
        return True

    def publish(self, rgb: np.ndarray, camera: CameraModel, stamp: float) -> Key:
        from trg_ros.ros.convert import rgb_to_image_cdr

        info = self._info(camera, stamp)
        key = info.header.stamp.sec, info.header.stamp.nanosec
        with self.cond:
            self._done.discard(key)  # a new frame with the stamp of an earlier one
        self.pub_info.publish(info)
        self.pub_img.publish(rgb_to_image_cdr(rgb, info.header))
        return key

    @staticmethod
    def _info(camera: CameraModel, stamp: float) -> Any:
        from builtin_interfaces.msg import Time
        from sensor_msgs.msg import CameraInfo
        from std_msgs.msg import Header

        sec, nanosec = stamp_key(stamp)
        header = Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=FRAME_ID)
        info = CameraInfo(
            header=header, width=camera.width, height=camera.height, distortion_model="plumb_bob"
        )
        info.k = camera.k.ravel().tolist()
        info.d = (camera.dist.tolist() + [0.0] * 5)[: max(5, camera.dist.size)]
        return info

    def wait(self, key: Key, timeout: float) -> tuple[Any, float, Any] | None:
        """The answer to ``key`` (taken out; later answers to it are ignored): its ``heads``,
        when they came and its ``face_signals`` (None where the node publishes none), or None
        after ``timeout`` seconds."""

        def done() -> bool:
            return key in self.results and (not self._with_signals or key in self.signals)

        with self.cond:
            if not self.cond.wait_for(done, timeout):
                return None
            self._done.add(key)
            return self.results.pop(key), self.arrivals.pop(key), self.signals.pop(key, None)

    def answered(self, key: Key) -> bool:
        with self.cond:
            return key in self.results

    def discard(self, key: Key) -> None:
        """Forget a frame given up, and its answer should it still come."""
        with self.cond:
            self._done.add(key)
            self.results.pop(key, None)
            self.arrivals.pop(key, None)
            self.signals.pop(key, None)

    def close(self) -> None:
        """Stop spinning, then free node, player and context, each step whatever the one
        before did (after Ctrl-C rclpy may have shut the context down already)."""
        try:
            self.executor.shutdown()
            if self.thread.is_alive():
                self.thread.join(5.0)  # no callback runs while the nodes are destroyed
        finally:
            try:
                self.node.release()
                self.node.destroy_node()
                self.player.destroy_node()
            finally:
                self.context.try_shutdown()
                self.context.destroy()  # frees the DDS participant (and its shared memory)
