"""Process entry point: start rclpy, run the node, bring it up unless told not to."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.signals import SignalHandlerOptions
from rclpy.utilities import get_default_context

from trg_ros.ros.node import NODE_NAME, HeadPoseNode
from trg_ros.ros.params import ParameterError

EXIT_BAD_PARAMETER = 2
SPIN_S = 0.2


def run_node(ros_args: list[str], params_file: Path | None, autostart: bool = True) -> int:
    """Run ``trg_head_pose`` until Ctrl-C or an external shutdown.

    ``params_file`` is applied before any ``-p`` given in ``ros_args``, so the command line wins.
    """
    args = list(ros_args) or ["--ros-args"]
    if params_file is not None:
        args[1:1] = ["--params-file", str(params_file)]
    # rclpy handles SIGTERM (it shuts the context down); Ctrl-C stays Python's KeyboardInterrupt
    # so that the context is still up for the shutdown transition, which tells consumers the
    # node is going (e.g. the empty ROS4HRI list) before its topics go.
    rclpy.init(args=[sys.argv[0], *args], signal_handler_options=SignalHandlerOptions.SIGTERM)
    interrupted = threading.Event()  # seen even where library code swallows the exception

    def on_sigint(signum: int, frame: object) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    context = get_default_context()
    try:
        node = HeadPoseNode()
    except ParameterError as e:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"{e}; not starting")
        context.try_shutdown()
        context.destroy()
        return EXIT_BAD_PARAMETER
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if autostart:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error(
                    "staying unconfigured: fix the parameter named above (e.g. `ros2 param set "
                    f"{node.get_fully_qualified_name()} weights /path/state_dict.bin`), then "
                    f"`ros2 lifecycle set {node.get_fully_qualified_name()} configure` and "
                    "`activate`"
                )
            elif node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error(
                    "configured but not active (see above): "
                    f"`ros2 lifecycle set {node.get_fully_qualified_name()} activate` to retry"
                )
            else:
                node.get_logger().info(
                    f"active: waiting for images on {node.resolve_topic_name('image')}"
                )
        while context.ok() and not interrupted.is_set():  # Ctrl-C seen within SPIN_S
            executor.spin_once(timeout_sec=SPIN_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A second Ctrl-C (a terminal signals the whole process group, and launch forwards
        # it once more) must not cut the clean-up short; SIGTERM still ends a stuck process.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if context.ok():
            try:
                node.trigger_shutdown()
            except RCLError:  # Ctrl-C cut a transition short: no transition can run any more
                node.release()
        else:  # SIGTERM or an external shutdown came first: no transition can run any more
            node.release()
        executor.shutdown()
        node.destroy_node()
        context.try_shutdown()
        # Free the DDS participant now: left to interpreter exit, Fast DDS may never remove
        # its shared-memory segment from /dev/shm.
        context.destroy()
    return 0
