"""What the ROS4HRI face topics add to a frame: ``HriFaces.publish`` on a real, active
lifecycle node, with a subscriber attached to every face's ``roi`` and ``landmarks`` and none
to the images, as the issue's goal states it. The subscriber is another node of this process
with its own executor thread: it shares the interpreter with the publishing side, so the
figures are if anything high."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from trg_ros.tools.bench.measure import measure, summary


def example_heads(n: int, seed: int = 0) -> list[Any]:
    """``n`` FaceMesh-like faces (68 landmarks, 478 dense points) in a 640 x 480 image."""
    from trg_ros.core.types import Head

    rng = np.random.default_rng(seed)
    heads = []
    for i in range(n):
        x, y = 40 + 70 * i, rng.uniform(50, 300)
        lmk = np.column_stack([rng.uniform(x, x + 120, 68), rng.uniform(y, y + 120, 68)])
        head = Head(
            id=f"bench{i}", score=0.9, box=np.array([x, y, x + 120, y + 120]),
            rotation=np.eye(3), translation=np.array([0, 0, 1.0]), vertices=np.zeros((468, 3)),
            landmarks_2d=lmk, sellion=np.zeros(3), model="facemesh",
            face_landmarks=rng.uniform(x, x + 120, (478, 3)),
        )  # fmt: skip
        heads.append(head)
    return heads


def hri_ms(heads: list[Any], repeats: int, image: np.ndarray | None = None) -> dict[str, float]:
    """Median ms per frame of the ROS4HRI topics for ``heads`` (ids, ROI, landmarks, the
    ``tracked`` list), subscribers attached to ``roi`` and ``landmarks``.

    Returns:
        ``ms_per_frame`` (p50), ``p90_ms``, ``faces``, ``received`` (messages the subscriber
        got in the timed part and its warm-up: 2 per face and call when every one arrived).
    """
    import rclpy
    from hri_msgs.msg import FacialLandmarks, NormalizedRegionOfInterest2D
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import LifecycleNode
    from std_msgs.msg import Header

    from trg_ros.ros.hri import HriFaces

    rgb = image if image is not None else np.zeros((480, 640, 3), np.uint8)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = LifecycleNode("trg_bench_hri", context=context)
    listener = rclpy.create_node("trg_bench_hri_listener", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(listener)
    done = threading.Event()

    def spin() -> None:
        while not done.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin, daemon=True)
    received = [0]

    def count(_: Any) -> None:
        received[0] += 1

    try:
        node.trigger_configure()
        faces = HriFaces(node)
        node.trigger_activate()
        header = Header(frame_id="cam")
        faces.publish(header, heads, [], rgb)  # opens the per-face publishers
        for h in heads:
            base = f"/humans/faces/{h.id}"
            listener.create_subscription(NormalizedRegionOfInterest2D, f"{base}/roi", count, 10)
            listener.create_subscription(FacialLandmarks, f"{base}/landmarks", count, 10)
        spinner.start()

        def frame() -> None:
            header.stamp = node.get_clock().now().to_msg()
            faces.publish(header, heads, [], rgb)

        pause = threading.Event()
        for _ in range(100):  # until matched, so that every timed publish really goes out
            frame()
            if pause.wait(0.05) or received[0] >= 2 * len(heads):
                break
        received[0] = 0
        times = measure(frame, repeats, warmup=5)
        pause.wait(0.3)
        stats = summary(times, 1)
        return {
            "faces": len(heads),
            "ms_per_frame": stats["p50_ms"],
            "p90_ms": stats["p90_ms"],
            "received": received[0],
        }
    finally:
        done.set()
        if spinner.is_alive():
            spinner.join(timeout=5)
        executor.shutdown()
        node.destroy_node()
        listener.destroy_node()
        rclpy.shutdown(context=context)
        context.destroy()
