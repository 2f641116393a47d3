"""The whole core pipeline on a real face with the parity-fixture weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.detect.base import Detection
from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig


@pytest.fixture(scope="module")
def parts(model_dir: Path) -> tuple[TRGEstimator, BlazeFace]:
    files = ModelFiles.in_dir(model_dir)
    est = TRGEstimator.from_files(files, TRGConfig(device="cpu"))
    return est, BlazeFace(files.detector)


def camera() -> CameraModel:
    return CameraModel(np.array([[600.0, 0, 250], [0, 600.0, 260], [0, 0, 1]]), 512, 512)


def test_each_estimator_says_where_its_files_came_from(
    parts, model_dir: Path, facemesh_dir: Path
) -> None:
    from trg_ros.core.facemesh.estimator import FaceMeshEstimator

    assert parts[0].source == str(model_dir / "state_dict.bin")
    assert FaceMeshEstimator.from_dir(facemesh_dir).source == str(facemesh_dir)


def test_a_new_pipeline_given_the_old_counter_never_reuses_an_id(parts) -> None:
    """The node keeps one id counter over cleanup and configure (new pipelines)."""
    ids = iter(range(100))
    first = HeadPosePipeline(*parts, ids=ids).process(skimage.data.astronaut(), camera(), 0.0)
    again = HeadPosePipeline(*parts, ids=ids).process(skimage.data.astronaut(), camera(), 1.0)
    assert [h.id for h in first.heads] == ["a"] and [h.id for h in again.heads] == ["b"]


def test_astronaut_gives_one_valid_head(parts) -> None:
    pipe = HeadPosePipeline(*parts, PipelineConfig(refine_passes=2))
    res = pipe.process(skimage.data.astronaut(), camera(), 0.0)
    assert len(res.heads) == 1
    head = res.heads[0]
    assert head.id == "a" and head.is_finite()
    assert np.isclose(np.linalg.det(head.rotation), 1.0, atol=1e-5)
    assert head.vertices.shape == (1220, 3) and head.landmarks_2d.shape == (68, 2)
    assert set(res.timings) >= {"detect", "estimate", "total"}


def test_no_face_and_lost_track(parts) -> None:
    pipe = HeadPosePipeline(*parts, PipelineConfig(tracker=pipe_tracker(max_age=0)))
    assert len(pipe.process(skimage.data.astronaut(), camera(), 0.0).heads) == 1
    res = pipe.process(np.zeros((512, 512, 3), np.uint8), camera(), 0.1)
    assert res.heads == [] and res.lost_ids == ["a"]


def test_external_boxes_and_max_faces(parts) -> None:
    pipe = HeadPosePipeline(*parts, PipelineConfig(max_faces=1, min_face_size=20))
    dets = [
        Detection(np.array([173.0, 68, 280, 175]), 0.9),
        Detection(np.array([10.0, 10, 40, 40]), 0.99),
        Detection(np.array([300.0, 300, 310, 310]), 0.99),
    ]  # below min_face_size
    res = pipe.process(skimage.data.astronaut(), camera(), 0.0, detections=dets)
    assert len(res.heads) == 1 and res.heads[0].box[0] == 173.0  # the largest wins


def pipe_tracker(**kw):
    from trg_ros.core.track import TrackerConfig

    return TrackerConfig(**kw)


def test_crop_follows_trg_landmarks_unless_they_drift_from_the_detection() -> None:
    from trg_ros.core.estimate import FaceQuery
    from trg_ros.core.model.crop import Box
    from trg_ros.core.model.estimator import crop_box_for, crop_box_from_detection

    face = np.array([173.0, 68, 280, 175])
    seeded = crop_box_from_detection(face)

    def crop(follow: Box | None, detected: bool) -> Box:
        return crop_box_for(FaceQuery(face, 0.9, detected, follow=follow))

    assert crop(None, detected=True) == seeded
    near = Box(seeded.left + 4, seeded.top - 3, seeded.right + 4, seeded.bottom - 3)
    assert crop(near, detected=True) == near  # refined box kept
    far = Box(0, 0, 60, 60)
    assert crop(far, detected=True) == seeded  # drifted: re-seeded
    assert crop(far, detected=False) == far  # no detection to check against


def test_stamps_that_stop_moving_restart_smoothing(parts) -> None:
    pipe = HeadPosePipeline(*parts, PipelineConfig())
    image = skimage.data.astronaut()
    shifted = np.roll(image, 30, axis=1)
    for i in range(5):
        pipe.process(image, camera(), i / 30)
    # All-zero stamps from here on: the published (smoothed) pose must follow the raw one.
    for frame in (shifted, image, shifted):
        head = pipe.process(frame, camera(), 0.0).heads[0]
        assert np.allclose(head.smoothed_translation, head.translation), (
            head.smoothed_translation,
            head.translation,
        )


def test_new_config_applies_to_tracked_faces(parts) -> None:
    from trg_ros.core.smoothing import OneEuroConfig

    pipe = HeadPosePipeline(*parts, PipelineConfig())
    image, shifted = skimage.data.astronaut(), np.roll(skimage.data.astronaut(), 30, axis=1)
    for i in range(3):
        pipe.process(image, camera(), i / 30)
    lag = pipe.process(shifted, camera(), 3 / 30).heads[0]
    gap_before = np.linalg.norm(lag.smoothed_translation - lag.translation)
    pipe.config = PipelineConfig(one_euro=OneEuroConfig(min_cutoff=100.0, beta=100.0))
    head = pipe.process(image, camera(), 4 / 30).heads[0]
    gap_after = np.linalg.norm(head.smoothed_translation - head.translation)
    assert head.id == lag.id == "a"
    assert gap_before > 0.005 and gap_after < 0.1 * gap_before, (gap_before, gap_after)


def test_non_finite_estimates_are_counted(parts) -> None:
    est, det = parts

    class NaNEstimator:  # stands in for a model that returns NaN (e.g. corrupt weights)
        name, device, triangles = "nan", est.device, est.triangles

        def estimate(self, image, faces, camera, passes=1):
            out = est.estimate(image, faces, camera, passes)
            return [
                dataclasses.replace(
                    e, head=dataclasses.replace(e.head, translation=e.head.translation * np.nan)
                )
                for e in out
            ]

    pipe = HeadPosePipeline(NaNEstimator(), det, PipelineConfig())  # type: ignore[arg-type]
    res = pipe.process(skimage.data.astronaut(), camera(), 0.0)
    assert res.heads == [] and res.non_finite == 1


def test_a_jump_forward_in_time_restarts_smoothing_and_is_logged_once(
    parts, caplog: pytest.LogCaptureFixture
) -> None:
    """A paused recording or a skipped bag segment: a filter fed the jump would blend the old
    pose in; it restarts instead (the OneEuroFilter alone would not, a later stamp is valid)."""
    pipe = HeadPosePipeline(*parts, PipelineConfig())
    image, shifted = skimage.data.astronaut(), np.roll(skimage.data.astronaut(), 30, axis=1)
    for i in range(4):
        assert not pipe.process(image, camera(), i / 30).stamp_reset
    with caplog.at_level("WARNING", logger="trg_ros.core.pipeline"):
        res = pipe.process(shifted, camera(), 10.0)  # 9.9 s later
        later = pipe.process(image, camera(), 25.0)
    assert res.stamp_reset and later.stamp_reset
    head = res.heads[0]
    np.testing.assert_allclose(head.smoothed_translation, head.translation)
    jumps = [r for r in caplog.records if "jumped" in r.getMessage()]
    assert len(jumps) == 1, [r.getMessage() for r in caplog.records]


def test_ended_tracks_give_new_ids_and_a_new_primary(parts) -> None:
    """The node ends every track when it deactivates: the same face, seen again after the
    next activation, gets a new id (ids announced gone are never reused)."""
    pipe = HeadPosePipeline(*parts)
    first = pipe.process(skimage.data.astronaut(), camera(), 0.0)
    assert [h.id for h in first.heads] == ["a"] and first.primary is not None
    assert pipe.end_tracks() == ["a"]
    again = pipe.process(skimage.data.astronaut(), camera(), 0.1)
    assert [h.id for h in again.heads] == ["b"] and again.lost_ids == []
    assert again.primary is not None and again.primary.id == "b"
