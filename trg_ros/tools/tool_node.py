"""A plain rclpy node for the commands that watch a running graph (``record``, ``view --ros``):
spun until Ctrl-C, SIGTERM or a deadline, with one look after ``WARN_AFTER`` s for camera
topics that nothing came on (a missing remap is the usual cause)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable

WARN_AFTER = 5.0  # s: a camera topic still silent by then is likely misnamed


def warn_silent(what: str, topics: list[str]) -> None:
    """Say which of the camera's topics nothing came on, and which options rename them."""
    print(
        f"warning: {what} on {', '.join(topics)} after {WARN_AFTER:.0f} s: "
        "check --namespace, --image and --camera-info",
        file=sys.stderr,
        flush=True,
    )


class ToolNode:
    """Starts rclpy with one node in ``namespace``; ``close`` ends both."""

    def __init__(self, name: str, namespace: str) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        rclpy.init(args=[])
        self.node = rclpy.create_node(name, namespace=namespace or "")
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self.node)
        self._stop = threading.Event()
        self._sigterm = signal.signal(signal.SIGTERM, lambda *_: self._stop.set())

    def spin(self, seconds: float = 0.0, late_check: Callable[[], None] | None = None) -> None:
        """Serve the node's callbacks until Ctrl-C, SIGTERM or ``seconds`` (0: no end);
        ``late_check`` runs once, ``WARN_AFTER`` s in."""
        from rclpy.executors import ExternalShutdownException

        start = time.monotonic()
        end = start + seconds if seconds > 0 else float("inf")
        try:
            while not self._stop.is_set() and time.monotonic() < end:
                self._executor.spin_once(timeout_sec=0.1)
                if late_check is not None and time.monotonic() > start + WARN_AFTER:
                    late_check()
                    late_check = None
        except (KeyboardInterrupt, ExternalShutdownException):  # Ctrl-C, in either order
            pass

    def close(self) -> None:
        import rclpy

        self._executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown()
        signal.signal(signal.SIGTERM, self._sigterm)
