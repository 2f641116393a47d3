"""The primary face (``head_pose``): the largest, with hysteresis, so two people of about the
same size do not take turns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import Detection
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
from trg_ros.core.primary import PrimaryConfig, PrimarySelector, box_area
from trg_ros.core.types import Head


def head(face_id: str, side: float, x: float = 0.0, score: float = 0.9) -> Head:
    """A face whose box is ``side`` x ``side`` px (area side^2) at column ``x``."""
    zero = np.zeros(3)
    return Head(
        face_id,
        score,
        np.array([x, 0.0, x + side, side]),
        np.eye(3),
        zero,
        np.zeros((0, 3)),
        np.zeros((68, 2)),
        zero,
        "test",
    )


def run(selector: PrimarySelector, frames: list[list[Head]]) -> list[str | None]:
    out = []
    for heads in frames:
        chosen = selector.select(heads, {h.id for h in heads})
        out.append(chosen.id if chosen is not None else None)
    return out


def test_two_faces_of_about_the_same_size_never_swap() -> None:
    """Areas alternating +-5 % around the same value for 100 frames: the largest box changes
    at every frame, the primary never."""
    frames = []
    for i in range(100):
        s = 1.05 if i % 2 else 0.95
        frames.append([head("a", 100 * np.sqrt(s)), head("b", 100 * np.sqrt(2 - s), x=300)])
    largest = [max(f, key=box_area).id for f in frames]
    assert largest.count("a") == 50 and largest.count("b") == 50
    assert run(PrimarySelector(), frames) == ["b"] * 100  # b is the larger at frame 0


def test_a_face_1_5x_larger_takes_over_at_its_5th_frame() -> None:
    selector = PrimarySelector()
    assert run(selector, [[head("a", 100)]] * 3) == ["a"] * 3
    big = 100 * np.sqrt(1.5)
    assert run(selector, [[head("a", 100), head("b", big, x=300)]] * 5) == ["a"] * 4 + ["b"]
    # Back to the old sizes: b stays primary (a is not 1.2x larger).
    assert run(selector, [[head("a", 100), head("b", 100, x=300)]] * 10) == ["b"] * 10


def test_the_frames_must_be_in_a_row() -> None:
    selector = PrimarySelector()
    run(selector, [[head("a", 100)]])
    big, near = head("b", 100 * np.sqrt(1.5), x=300), head("b", 100 * np.sqrt(1.1), x=300)
    frames = [[head("a", 100), b] for b in [big] * 4 + [near] + [big] * 5]
    assert run(selector, frames) == ["a"] * 9 + ["b"]


def test_a_lost_primary_hands_over_to_the_largest_at_once() -> None:
    selector = PrimarySelector()
    run(selector, [[head("a", 100), head("b", 80, x=200), head("c", 90, x=400)]] * 3)
    assert selector.primary_id == "a"
    assert run(selector, [[head("b", 80, x=200), head("c", 90, x=400)]]) == ["c"]


def test_a_tracked_primary_missing_from_one_frame_keeps_the_role() -> None:
    """A missed detection: no head_pose for that frame (not the other person's), and the
    primary is back the frame after."""
    selector = PrimarySelector()
    run(selector, [[head("a", 100), head("b", 110, x=300)]])
    assert selector.primary_id == "b"
    assert selector.select([head("a", 100)], {"a", "b"}) is None
    assert run(selector, [[head("a", 100), head("b", 110, x=300)]]) == ["b"]


def test_ties_go_to_the_higher_score_and_no_face_is_none() -> None:
    selector = PrimarySelector()
    assert run(selector, [[head("a", 100, score=0.7), head("b", 100, x=300, score=0.8)]]) == ["b"]
    assert run(selector, [[]]) == [None] and selector.primary_id is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"switch_ratio": 0.9}, "switch_ratio"), ({"switch_frames": 0}, "frames")],
)
def test_bad_settings_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PrimaryConfig(**kwargs)


def test_the_pipeline_reports_its_primary_face(facemesh_dir: Path) -> None:
    """Two real faces (the astronaut beside its mirror image) with boxes given from outside:
    the pipeline's primary follows the same rule, and its settings apply live."""
    a = skimage.data.astronaut()
    image = np.ascontiguousarray(np.concatenate([a, a[:, ::-1]], axis=1))
    camera = CameraModel(np.array([[600.0, 0, 512], [0, 600.0, 256], [0, 0, 1]]), 1024, 512)
    left, right = np.array([173.0, 68, 280, 175]), np.array([744.0, 68, 851, 175])

    def boxes(grow_right: float) -> list[Detection]:
        centre = (right[:2] + right[2:]) / 2
        half = (right[2:] - right[:2]) / 2 * np.sqrt(grow_right)
        return [
            Detection(left, 0.9),
            Detection(np.concatenate([centre - half, centre + half]), 0.9),
        ]

    pipe = HeadPosePipeline(FaceMeshEstimator.from_dir(facemesh_dir), None, PipelineConfig())
    primaries = []
    for i, grow in enumerate([1.0, 1.1, 0.9, 1.1] + [1.5] * 5):
        result = pipe.process(image, camera, i / 30, detections=boxes(grow))
        assert len(result.heads) == 2 and result.primary is not None
        assert any(result.primary is h for h in result.heads)
        primaries.append(result.primary.id)
    assert primaries == ["a"] * 8 + ["b"]
    pipe.config = PipelineConfig(primary=PrimaryConfig(switch_ratio=1.0, switch_frames=1))
    assert pipe.process(image, camera, 10 / 30, detections=boxes(0.5)).primary.id == "a"
