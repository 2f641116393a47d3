"""2,000 face tracks come and go through the ROS4HRI publishers of a real lifecycle node:
afterwards its publisher count and `ros2 topic list` are back at the baseline, its memory
grew by at most 20 MB, and all of it took at most 60 s. Also on an in-process lifecycle node:
face images are made only while someone subscribes, and the bench's ROS4HRI figure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import rclpy
from installed import ros2
from rclpy.lifecycle import LifecycleNode
from std_msgs.msg import Header

from trg_ros.core.types import Head
from trg_ros.ros.hri import HriFaces

pytestmark = [pytest.mark.ros, pytest.mark.slow]
TRACKS = 2000
ALIVE = 3  # faces tracked at once: track i lives from frame i to frame i + ALIVE


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def head(face_id: str, rng: np.random.Generator) -> Head:
    x, y = rng.uniform(50, 400, 2)
    lmk = np.column_stack([rng.uniform(x, x + 100, 68), rng.uniform(y, y + 100, 68)])
    return Head(
        id=face_id, score=0.9, box=np.array([x, y, x + 100, y + 100]), rotation=np.eye(3),
        translation=np.array([0, 0, 1.0]), vertices=np.zeros((468, 3)), landmarks_2d=lmk,
        sellion=np.zeros(3), model="facemesh", face_landmarks=rng.uniform(0, 400, (478, 3)),
    )  # fmt: skip


@contextmanager
def active_faces() -> Iterator[tuple[LifecycleNode, HriFaces]]:
    """An active lifecycle node named like ours, on a context of its own, with the ROS4HRI
    publishers made as the node makes them (between configure and activate)."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = LifecycleNode("trg_head_pose", context=context)
    try:
        node.trigger_configure()
        faces = HriFaces(node)
        node.trigger_activate()
        yield node, faces
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
        context.destroy()


def topic_list(env: dict[str, str], ok=None) -> set[str]:
    done = ros2("topic", "list", env=env, timeout=30, ok=ok)
    return set(done.stdout.split())


def test_2000_tracks_leave_no_publisher_topic_or_memory_behind(ros2_cli: None) -> None:
    import os

    env = dict(os.environ)
    with active_faces() as (node, faces):
        base_pubs = len(list(node.publishers))
        base_topics = topic_list(env, ok=lambda out: "/humans/faces/tracked" in out)
        assert "/humans/faces/tracked" in base_topics, base_topics
        rgb = np.zeros((480, 640, 3), np.uint8)
        rng = np.random.default_rng(0)

        def run(first: int, last: int) -> None:
            for i in range(first, last + ALIVE):
                header = Header(stamp=node.get_clock().now().to_msg(), frame_id="cam")
                heads = [head(f"t{j}", rng) for j in range(max(first, i - ALIVE + 1), i + 1)
                         if j < last]  # fmt: skip
                lost = [f"t{i - ALIVE}"] if i - ALIVE >= first else []
                faces.publish(header, heads, lost, rgb)
            assert faces.ids == [], faces.ids

        # the observer does see per-face topics come (so their absence later means something)
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id="cam")
        faces.publish(header, [head("probe", rng)], [], rgb)
        probe = "/humans/faces/probe/landmarks"
        assert probe in topic_list(env, ok=lambda out: probe in out)
        faces.publish(header, [], ["probe"], rgb)
        run(0, 100)  # warm-up: allocator pools and DDS caches reach their steady size
        mb0 = rss_mb()
        t0 = time.monotonic()
        run(100, 100 + TRACKS)
        elapsed = time.monotonic() - t0
        grown = rss_mb() - mb0
        assert elapsed <= 60.0, f"{TRACKS} tracks took {elapsed:.1f} s"
        assert len(list(node.publishers)) == base_pubs
        assert grown <= 20.0, f"memory grew by {grown:.1f} MB over {TRACKS} tracks"
        after = topic_list(env, ok=lambda out: set(out.split()) == base_topics)
        assert after == base_topics, sorted(after ^ base_topics)[:20]
        print(f"{TRACKS} tracks in {elapsed:.1f} s, memory +{grown:.1f} MB")


def test_a_frame_after_close_makes_no_publisher() -> None:
    """A processing thread that did not stop in time may publish while or after the node
    releases its outputs: nothing is published or created after ``close``, and frames on
    another thread during ``close`` raise nothing."""
    import threading

    with active_faces() as (node, faces):
        rgb = np.zeros((480, 640, 3), np.uint8)
        rng = np.random.default_rng(3)
        errors: list[BaseException] = []
        stop = threading.Event()

        def frames() -> None:
            i = 0
            while not stop.is_set():
                header = Header(stamp=node.get_clock().now().to_msg(), frame_id="cam")
                try:
                    faces.publish(header, [head(f"f{i}", rng)], [f"f{i - 1}"], rgb)
                except BaseException as e:  # the test reports any of them
                    errors.append(e)
                    return
                i += 1

        worker = threading.Thread(target=frames)
        worker.start()
        time.sleep(0.3)
        faces.close()
        after_close = len(list(node.publishers))
        time.sleep(0.3)
        stop.set()
        worker.join(10)
        assert not errors, errors
        assert faces.ids == [] and len(list(node.publishers)) == after_close


def test_bench_measures_the_ros4hri_cost_with_a_matched_subscriber() -> None:
    from trg_ros.tools.bench.hri import example_heads, hri_ms

    r = hri_ms(example_heads(2), repeats=30)
    assert r["faces"] == 2 and r["received"] > 0, r
    assert 0 < r["ms_per_frame"] <= r["p90_ms"]


def test_face_images_are_made_only_while_someone_subscribes(monkeypatch) -> None:
    """No subscriber on ``cropped``/``aligned``: the images are not even computed; once one
    subscribes to ``cropped``, those arrive (and ``aligned`` is still not made)."""
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from trg_ros.core import hri

    made = {"crop": 0, "align": 0}
    crop, align = hri.crop_face, hri.align_face

    def counting_crop(*args):
        made["crop"] += 1
        return crop(*args)

    def counting_align(*args):
        made["align"] += 1
        return align(*args)

    monkeypatch.setattr(hri, "crop_face", counting_crop)
    monkeypatch.setattr(hri, "align_face", counting_align)
    with active_faces() as (node, faces):
        viewer = rclpy.create_node("viewer", context=node.context)
        executor = SingleThreadedExecutor(context=node.context)
        executor.add_node(viewer)
        try:
            rng = np.random.default_rng(1)
            face = head("x", rng)
            rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)

            def frame() -> None:
                header = Header(stamp=node.get_clock().now().to_msg(), frame_id="cam")
                faces.publish(header, [face], [], rgb, (64, 48))

            for _ in range(20):
                frame()
            assert made == {"crop": 0, "align": 0}
            got: list[Image] = []
            viewer.create_subscription(Image, "/humans/faces/x/cropped", got.append, 10)
            end = time.monotonic() + 15
            while not got and time.monotonic() < end:
                frame()
                executor.spin_once(timeout_sec=0.05)
            assert got and (got[0].width, got[0].height, got[0].encoding) == (64, 48, "bgr8")
            assert made["crop"] > 0 and made["align"] == 0
        finally:
            executor.shutdown()
            viewer.destroy_node()
