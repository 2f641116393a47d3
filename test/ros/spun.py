"""A node of the test process, on a context of its own and spun in a thread: the base of the
tests' subscribers (conftest.Collector, hri_consumer.HriConsumer)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import rclpy


class SpunNode:
    """Subclasses make their subscriptions, then call ``start``. A callback that raises fails
    the next ``wait_for`` instead of hanging the test. With ``tf``, a tf2_ros Buffer and
    TransformListener come first, so that when /tf and another topic are both ready the
    transform is taken in first (rclpy serves ready subscriptions in creation order)."""

    locked_predicates = False

    def __init__(self, name: str, tf: bool = False) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.tf_buffer: Any = None
        if tf:
            from tf2_ros import Buffer, TransformListener

            self.tf_buffer = Buffer(node=self.node)
            self._tf_listener = TransformListener(self.tf_buffer, self.node, spin_thread=False)
        self.lock = threading.RLock()  # held by the callbacks' stores
        self.error: Exception | None = None

    def start(self) -> None:
        from rclpy.executors import SingleThreadedExecutor

        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except (ExternalShutdownException, rclpy.exceptions.InvalidHandle):
                return
            except Exception as e:  # a broken callback must fail the test, not hang it
                self.error = e
                raise

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Poll ``predicate``; with ``locked_predicates`` under the lock, for predicates that
        read the subclass's state directly (not for ones that wait themselves: the callbacks
        could not store meanwhile)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.error is not None:
                raise AssertionError(f"{type(self).__name__} thread failed: {self.error!r}")
            with self.lock if self.locked_predicates else nullcontext():
                if predicate():
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.thread.join(timeout=5)
        self.context.destroy()
