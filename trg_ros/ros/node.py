"""The ``trg_head_pose`` lifecycle node: messages and parameters in, pipeline, messages out."""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from dataclasses import replace
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.errors import TRGError
from trg_ros.core.pipeline import HeadPosePipeline
from trg_ros.ros import intrinsics
from trg_ros.ros.attention import UNKNOWN, AttentionFrame, tf2_available
from trg_ros.ros.external import StampPairing, vision_msgs_available
from trg_ros.ros.factory import build_pipeline, detector_config, pipeline_config
from trg_ros.ros.inputs import FrameInputs, Received, Rejected, subscribe
from trg_ros.ros.logs import forward_core_logs, stop_forwarding
from trg_ros.ros.outputs import Outputs
from trg_ros.ros.params import (
    NodeParams,
    ParameterError,
    as_double,
    declare_all,
    start_up_warnings,
)
from trg_ros.ros.rviz import NODE_NAME
from trg_ros.ros.status import Status, stage_times
from trg_ros.ros.worker import WORKER_THREAD, FrameWorker

LOG_EVERY = 5.0  # s between log lines for the same kind of dropped frame
ATTENTION_FRAME = "attention_frame_missing"  # diagnostics: frames without its transform


class HeadPoseNode(LifecycleNode):
    """Configure loads the model; activate opens the topics; cleanup frees the device.

    Raises:
        ParameterError: a parameter given at start-up is invalid (one line, names it).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._log_handler = forward_core_logs(self.get_logger())
        try:
            self.params = declare_all(self)
        except (ParameterException, ValueError, RuntimeError) as e:
            self.destroy_node()
            raise ParameterError(str(e)) from e
        for warning in start_up_warnings(self):
            self.get_logger().warning(warning)
        # `ros2 param set ... 30` sends an integer where the parameter is a double.
        self.add_pre_set_parameters_callback(lambda params: [as_double(p) for p in params])
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.status = Status()
        self.pipeline: HeadPosePipeline | None = None
        self._inputs = FrameInputs()
        self._worker = FrameWorker(self._process, self._on_worker_error)
        self._entities: list[Any] = []
        self._last_logged: dict[str, float] = {}
        self._pairing: StampPairing | None = None
        self._attention: AttentionFrame | None = None
        self._attention_unknowable = False  # attention_frame set, but no listener to be had
        self._outputs: Outputs | None = None
        self._model_name = "none"
        self._configure_error: str | None = None
        # Face ids count on over cleanup and configure: never reused within the node's life.
        self._ids = itertools.count()
        self._state = "unconfigured"  # for diagnostics; rclpy has no public getter
        # Diagnostics from the start, so a failed configure is visible on /diagnostics too.
        self._pub_diag = self.create_publisher(
            DiagnosticArray, "/diagnostics", QoSProfile(depth=10)
        )
        self._diag_timer = self.create_timer(1.0, self._publish_diagnostics)

    def destroy_node(self) -> None:
        stop_forwarding(self._log_handler)
        super().destroy_node()

    @property
    def camera_info_frames(self) -> list[str]:
        """The frame_ids whose CameraInfo has arrived since the last activation."""
        return sorted(self._inputs.intrinsics.infos)

    @property
    def configure_error(self) -> str | None:
        """Why the last configure failed (None after a successful one)."""
        return self._configure_error

    # --- parameters -------------------------------------------------------------------
    def _on_set_parameters(self, params: list[Any]) -> SetParametersResult:
        docs = NodeParams.field_docs()
        try:
            changed = {p.name: p.value for p in params if p.name in docs}
            new = replace(self.params, **changed)
        except (ValueError, TypeError) as e:
            return SetParametersResult(successful=False, reason=str(e))
        later = [k for k in changed if not docs[k]["live"]]
        if later and self.pipeline is not None:
            self.get_logger().info(
                f"{', '.join(later)}: not live, takes effect at the next configure/activate"
            )
        pipeline = self.pipeline
        if pipeline is not None:  # from the next frame on, for faces already tracked too
            config = pipeline_config(new, self.get_namespace())
            prefix = pipeline.config.tracker.id_prefix  # not live: kept until configure
            pipeline.config = replace(config, tracker=replace(config.tracker, id_prefix=prefix))
            if isinstance(pipeline.detector, BlazeFace):
                pipeline.detector.config = detector_config(new)
        self.params = new
        return SetParametersResult(successful=True)

    # --- lifecycle --------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        p = self.params
        try:
            built = build_pipeline(p, self.get_namespace(), self._ids)
        except (TRGError, ValueError, RuntimeError, OSError) as e:
            self._configure_error = f"configure failed: {e}"
            self.status.warn("configure_failed", str(e))
            self.get_logger().error(self._configure_error)
            return TransitionCallbackReturn.FAILURE
        self._configure_error = None
        self.status.clear_problem("configure_failed")
        self.pipeline = built.pipeline
        estimator = built.pipeline.estimator
        self.status.hardware_id = str(estimator.device)
        self._model_name = f"{estimator.name} ({estimator.source})"
        self.get_logger().info(built.summary)
        if built.signals_error is not None:
            self.get_logger().warning(f"face_signals is on but cannot run: {built.signals_error}")
            self.status.warn("signals_unavailable", built.signals_error)
        else:
            self.status.clear_problem("signals_unavailable")
        if built.unused:
            self.get_logger().warning(
                f"{estimator.name} does not use these parameters, which are set: "
                f"{', '.join(built.unused)}"
            )
        # Topics exist from now on; they carry messages only while the node is active.
        self._outputs = Outputs(self, estimator.triangles, p.ros4hri)
        self._state = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        p = self.params
        if p.external_detections and not vision_msgs_available():
            self.get_logger().error(
                "external_detections needs vision_msgs, which is not "
                "installed (e.g. apt install ros-$ROS_DISTRO-vision-msgs)"
            )
            return TransitionCallbackReturn.FAILURE
        try:
            self._worker.start(p.every_frame)
            self._inputs = FrameInputs()  # CameraInfo is read afresh after every activation
            self._pairing = StampPairing() if p.external_detections else None
            self._entities = subscribe(
                self, p, self._on_image, self._on_camera_info, self._on_detections
            )
            self._attention = self._follow_attention_frame(p.attention_frame)
        except Exception as e:  # nothing half-open stays behind
            self.get_logger().error(f"cannot activate: {type(e).__name__}: {e}")
            self._close_inputs()
            return TransitionCallbackReturn.FAILURE
        self._state = "active"
        return super().on_activate(state)  # enables the lifecycle publishers

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if not self._close_inputs():
            return TransitionCallbackReturn.FAILURE  # still active, still processing
        if self._outputs is not None:
            self._outputs.deactivate()  # e.g. the empty ROS4HRI list, while still active
        if self.pipeline is not None:  # announced gone: a face seen after activation is new
            self.pipeline.end_tracks()
        self._state = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        self._state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised: free everything and fall back to unconfigured."""
        self.release()
        self._state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        self._state = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def release(self) -> None:
        """Stop the worker, close the topics and free the model, whatever the state. Also for
        when Ctrl-C has shut the context down before a shutdown transition could run: without
        it Fast DDS leaves its shared-memory segment behind in /dev/shm."""
        self._worker.stop(final=True)
        self._close_inputs()
        if self._outputs is not None:
            self._outputs.close()
            self._outputs = None
        on_cuda = self.pipeline is not None and self.pipeline.estimator.device.type == "cuda"
        self.pipeline = None
        self._model_name = "none"
        if on_cuda:
            import torch

            torch.cuda.empty_cache()

    def _close_inputs(self) -> bool:
        """Stop the worker after its frame, then close the subscriptions; False when the
        frame in flight does not finish in time: then nothing changes, the worker goes on
        with the next frames and the transition is refused."""
        if not self._worker.stop():
            self.get_logger().error(
                "the processing thread is still busy with a frame: it goes on processing; "
                "try the transition again"
            )
            return False
        for e in self._entities:
            self.destroy_subscription(e)
        self._entities = []
        if self._attention is not None:
            self._attention.close()
            self._attention = None
        self._pairing = None
        return True

    # --- callbacks --------------------------------------------------------------------
    def _on_camera_info(self, msg: CameraInfo) -> None:
        self._inputs.store_info(msg)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self.status.count("received")
        if self._pairing is not None:
            paired = self._pairing.add_image(msg)
            if paired is not None:
                self._offer(self._inputs.received(*paired))
        else:
            self._offer(self._inputs.received(msg))

    def _on_detections(self, msg: Any) -> None:
        assert self._pairing is not None
        if not msg.detections:
            self.status.count("empty_detections")
        before = self._pairing.unmatched
        paired = self._pairing.add_detections(msg)
        if self._pairing.unmatched > before:
            self._reject("unpaired", "images or detections without a partner of the same stamp")
        if paired is not None:
            self._offer(self._inputs.received(*paired))

    def _offer(self, item: Received) -> None:
        if self._worker.offer(item):
            self.status.count("dropped_busy")

    def _reject(self, reason: str, message: str, n: int = 1) -> None:
        """Count ``n`` dropped frames or faces; log each reason at most every LOG_EVERY s."""
        self.status.problem(reason, message, n)
        self._warn_now_and_then(reason, f"frame dropped ({reason}): {message}")

    def _warn_now_and_then(self, reason: str, text: str) -> None:
        """Log ``text`` at most every LOG_EVERY s per ``reason``."""
        now = time.monotonic()
        if now - self._last_logged.get(reason, -LOG_EVERY) >= LOG_EVERY:
            self._last_logged[reason] = now
            self.get_logger().warning(text)

    def _follow_attention_frame(self, frame: str) -> AttentionFrame | None:
        """The TF listener for ``attention_frame`` (only while signals run); where it cannot
        be had, attention is not measured (NaN, its timers hold) and /diagnostics says why."""
        self.status.clear_problem(ATTENTION_FRAME)
        self._attention_unknowable = False
        if not frame or self.pipeline is None or self.pipeline.signals is None:
            return None
        why = None
        if not tf2_available():
            why = "tf2_ros is not importable (e.g. apt install ros-$ROS_DISTRO-tf2-ros)"
        else:
            try:
                return AttentionFrame(self, frame)
            except Exception as e:  # optional: the head pose and other signals go on
                why = f"its TF listener could not start ({type(e).__name__}: {e})"
                self.get_logger().error("".join(traceback.format_exception(e)))
        message = f"attention_frame={frame}: {why}; attention is not measured"
        self._attention_unknowable = True
        self.status.warn(ATTENTION_FRAME, message)
        self.get_logger().warning(message)
        return None

    def _attention_forward(self, camera_frame: str) -> np.ndarray | None:
        """This frame's attentive direction from ``attention_frame`` (None: the configured
        ``attention_forward``); a failed lookup is counted and logged now and then."""
        if self._attention_unknowable:
            self.status.count(ATTENTION_FRAME)
            return UNKNOWN
        attention = self._attention
        if attention is None:
            return None
        forward, why = attention.forward_in(camera_frame)
        if why:
            self.status.warn(ATTENTION_FRAME, why)
            self._warn_now_and_then(ATTENTION_FRAME, why)
        else:
            self.status.clear_problem(ATTENTION_FRAME)
        return forward

    def _on_worker_error(self, error: Exception, first: bool) -> None:
        """An unexpected error drops the frame, counted; its traceback is logged once per
        kind of error, and the next frame is served."""
        if first:
            trace = "".join(traceback.format_exception(error))
            self.get_logger().error(
                f"unexpected error while processing a frame (logged once per kind):\n{trace}"
            )
        self._reject("internal", f"{type(error).__name__}: {error}")

    def _process(self, item: Received) -> None:
        pipeline, p = self.pipeline, self.params
        if pipeline is None:
            return
        t_start = time.monotonic()
        frame = self._inputs.prepare(item.msg, p, self.resolve_topic_name("camera_info"))
        if isinstance(frame, Rejected):
            if frame.quiet:
                self.status.count(f"dropped_{frame.reason}")
            else:
                self._reject(frame.reason, frame.message)
            return
        if frame.warning is not None:  # processed, but the user must know
            self.status.warn(*frame.warning)
        else:
            self.status.clear_problem(intrinsics.MISSING)
        t_converted = time.monotonic()
        forward = self._attention_forward(frame.header.frame_id)
        result = pipeline.process(
            frame.rgb, frame.camera, frame.stamp, item.detections, attention_forward=forward
        )
        if result.non_finite:
            message = f"{result.non_finite} face(s) gave NaN/inf; their tracks ended"
            self._reject("non_finite", message, result.non_finite)
        if result.stamp_reset:
            self.status.count("smoothing_restarts")  # the stamp went back or jumped
        outputs = self._outputs
        if outputs is None or not self.context.ok():
            return  # deactivated or shutting down while this frame was processed
        t_estimated = time.monotonic()
        signals = result.signals if pipeline.signals is not None else None
        outputs.publish(
            frame.header, result.heads, result.lost_ids, p, result.primary, frame.rgb, signals
        )
        if signals is not None:
            self.status.count("signal_faces", len(signals))
            self.status.count("signal_blinks", sum(s.summary.blink for s in signals.values()))
            no_eyes = sum(not any(e.valid for e in s.eyes) for s in signals.values())
            self.status.count("signal_faces_without_eyes", no_eyes)
        t_published = time.monotonic()
        self.status.processed(t_published - item.at, len(result.heads))
        moments = (item.at, t_start, t_converted, t_estimated, t_published)
        self.status.stages(**stage_times(moments, result.timings, item.wall - frame.stamp))
        self.status.frame_served(
            used_guess=frame.warning is not None, non_finite=result.non_finite
        )

    def _publish_diagnostics(self) -> None:
        if not self.context.ok():
            return
        extra = {
            "state": self._state,
            "device": self.status.hardware_id or "none",
            "model": self._model_name,
            "processing_threads": str(sum(t.name == WORKER_THREAD for t in threading.enumerate())),
            "camera_info_frames": ",".join(self.camera_info_frames) or "none",
        }
        self._pub_diag.publish(
            self.status.diagnostics(
                self.get_clock().now().to_msg(),
                self.get_fully_qualified_name(),
                extra,
                errors=self._configure_error is not None,
            )
        )
