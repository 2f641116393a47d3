"""From received messages to the pipeline's frame: 16-bit streams and the frame_id parameter
(real sensor_msgs messages through the node's input stage; no middleware involved)."""

from __future__ import annotations

import logging
import time

import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from trg_ros.ros import intrinsics
from trg_ros.ros.inputs import Frame, FrameInputs, Rejected
from trg_ros.ros.params import NodeParams

SIZE = 64


def info(frame_id: str) -> CameraInfo:
    msg = CameraInfo(header=Header(frame_id=frame_id), width=SIZE, height=SIZE)
    msg.k = [80.0, 0.0, SIZE / 2, 0.0, 80.0, SIZE / 2, 0.0, 0.0, 1.0]
    return msg


def mono16(pixels: np.ndarray, header: Header) -> Image:
    msg = Image(header=header, height=SIZE, width=SIZE, encoding="mono16", step=SIZE * 2)
    msg.data = pixels.astype("<u2").tobytes()
    return msg


def png16(pixels: np.ndarray, header: Header) -> CompressedImage:
    ok, data = cv2.imencode(".png", pixels.astype(np.uint16))
    assert ok
    return CompressedImage(header=header, format="mono16; png compressed", data=data.tobytes())


def test_a_16_bit_stream_keeps_its_scale_raw_or_png() -> None:
    """A 12-bit camera: after a bright frame, a frame four times darker stays four times
    darker, whether it comes as mono16 or as a 16-bit PNG on image/compressed."""
    ramp = np.linspace(0, 4095, SIZE * SIZE).reshape(SIZE, SIZE).astype(np.uint16)
    p = NodeParams()
    header = Header(frame_id="cam")
    out = {}
    for name, wrap in (("raw", mono16), ("png", png16)):
        inputs = FrameInputs()
        inputs.store_info(info("cam"))
        frames = [
            inputs.prepare(wrap(img, header), p, "/camera_info") for img in (ramp, ramp // 4)
        ]
        assert all(isinstance(f, Frame) for f in frames)
        out[name] = [f.rgb for f in frames]
        assert out[name][0].max() == 255 and out[name][1].max() == 63, name
    np.testing.assert_array_equal(out["png"][1], out["raw"][1])
    fixed = FrameInputs()  # image_bit_depth given: every frame by it, the first one too
    fixed.store_info(info("cam"))
    dark = fixed.prepare(png16(ramp // 4, header), NodeParams(image_bit_depth=12), "/ci")
    assert isinstance(dark, Frame) and dark.rgb.max() == 63


class Lines(logging.Handler):
    """Keeps the messages logged to one logger. Not pytest's caplog: that listens at the root
    logger, and a session that imported ``launch`` first (the ROS tests do) makes every logger
    created afterwards stop propagating (launch's LaunchLogger class)."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.logger, self.lines = logging.getLogger(name), []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> list[str]:
        self.logger.addHandler(self)
        return self.lines

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)


def test_frame_id_parameter_pairs_and_stamps_a_driver_s_empty_frame() -> None:
    """Images with an empty frame_id and CameraInfo in another frame: with frame_id set they
    pair (the latest CameraInfo on the topic), and the outputs carry that frame with the
    image's stamp; without it the image waits for a CameraInfo of its own frame."""
    image = np.zeros((SIZE, SIZE), np.uint16)
    header = Header(frame_id="")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    inputs = FrameInputs()
    inputs.store_info(info("camera_link"))
    frame = inputs.prepare(mono16(image, header), NodeParams(frame_id="cam_optical"), "/ci")
    assert isinstance(frame, Frame) and frame.warning is None
    assert frame.header.frame_id == "cam_optical"
    assert (frame.header.stamp.sec, frame.header.stamp.nanosec) == (12, 345)
    assert frame.camera.fx == 80.0

    p = NodeParams(camera_info_timeout=0.1)
    inputs.received(None)  # the first image starts the CameraInfo clock
    time.sleep(0.15)
    with Lines("trg_ros.ros.inputs") as lines:
        missing = inputs.prepare(mono16(image, header), p, "/ci")
        assert isinstance(missing, Rejected) and missing.reason == intrinsics.MISSING
        assert missing.message == "no CameraInfo for frame '' on /ci after 0.1 s"
        inputs.store_info(info(""))
        for _ in range(2):
            same = inputs.prepare(mono16(image, header), p, "/ci")
            assert isinstance(same, Frame) and same.header.frame_id == ""
    told = [line for line in lines if "empty frame_id" in line]
    assert len(told) == 1 and "set the frame_id parameter" in told[0], lines
