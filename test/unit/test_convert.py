"""Message conversions: every supported encoding, row padding, CameraInfo, poses and markers."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from trg_ros.core.errors import CameraError
from trg_ros.ros import convert

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)


def image(arr: np.ndarray, encoding: str, pad: int = 0, big_endian: bool = False) -> Image:
    h, w = arr.shape[:2]
    raw = arr.astype(arr.dtype.newbyteorder(">" if big_endian else "<")).tobytes()
    row = len(raw) // h
    rows = [raw[i * row : (i + 1) * row] + b"\xaa" * pad for i in range(h)]
    msg = Image(height=h, width=w, encoding=encoding, step=row + pad, is_bigendian=int(big_endian))
    msg.data = b"".join(rows)
    return msg


@pytest.mark.parametrize("pad", [0, 3])
def test_colour_encodings(pad: int) -> None:
    np.testing.assert_array_equal(convert.image_to_rgb(image(RGB, "rgb8", pad)), RGB)
    np.testing.assert_array_equal(
        convert.image_to_rgb(image(RGB[..., ::-1].copy(), "bgr8", pad)), RGB
    )
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(convert.image_to_rgb(image(rgba, "rgba8", pad)), RGB)
    bgra = np.dstack([RGB[..., ::-1], np.full(RGB.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(convert.image_to_rgb(image(bgra, "bgra8", pad)), RGB)


@pytest.mark.parametrize("big_endian", [False, True])
def test_mono_encodings(big_endian: bool) -> None:
    grey = RGB[..., 0]
    out = convert.image_to_rgb(image(grey, "mono8"))
    assert out.shape == (6, 8, 3) and np.array_equal(out[..., 1], grey)
    grey16 = grey.astype(np.uint16) * 256 + 17
    out16 = convert.image_to_rgb(image(grey16, "mono16", big_endian=big_endian), 16)
    np.testing.assert_array_equal(out16[..., 2], grey)  # top 8 bits


@pytest.mark.parametrize("encoding", ["mono16", "16UC1", "bayer_rggb16"])
def test_12_bit_camera_keeps_its_brightness(encoding: str) -> None:
    """A 12-bit sensor stores 0..4095 in 16-bit words: the top 8 of 16 bits would be near
    black; its own 12 bits (given, or found in the data) give the full 8-bit range."""
    grey = RNG.integers(0, 256, (6, 8), dtype=np.uint8)
    grey[0, 0] = 255
    twelve = grey.astype(np.uint16) << 4 | 9  # 12 significant bits
    for bit_depth in (12, 0):
        out = convert.image_to_rgb(image(twelve, encoding), bit_depth)
        if encoding.startswith("bayer"):
            assert out.max() >= 200, f"{encoding} at {bit_depth} bits: max {out.max()}"
        else:
            np.testing.assert_array_equal(out[..., 0], grey)
    assert convert.image_to_rgb(image(twelve, encoding), 16).max() <= 16  # the old darkness


def test_bit_depth_of_16_bit_data_is_rounded_to_a_sensor_s() -> None:
    twelve = np.array([[0, 1000, 3000]], np.uint16)
    assert convert.significant_bits(twelve) == 12
    assert convert.significant_bits(np.array([[700]], np.uint16)) == 10
    assert convert.significant_bits(np.array([[200]], np.uint16)) == 8


def test_a_stream_s_bit_depth_is_the_deepest_so_far() -> None:
    depth = convert.StreamDepth()
    assert depth(np.array([[200]], np.uint16)) == 8
    assert depth(np.array([[0, 1000, 3000]], np.uint16)) == 12
    assert depth(np.array([[700]], np.uint16)) == 12  # a dark frame keeps the stream's scale
    dark = np.array([[256, 512]], np.uint16)
    np.testing.assert_array_equal(convert.to_8bit(dark, depth), [[16, 32]])
    np.testing.assert_array_equal(convert.to_8bit(dark), [[64, 128]])  # alone: 4x brighter


def test_16_bit_png_on_the_compressed_topic() -> None:
    import cv2
    from sensor_msgs.msg import CompressedImage

    grey = RNG.integers(0, 256, (6, 8), dtype=np.uint8)
    grey[0, 0] = 255
    ok, png = cv2.imencode(".png", grey.astype(np.uint16) << 4)  # a 12-bit camera's PNG
    assert ok
    msg = CompressedImage(format="png", data=png.tobytes())
    np.testing.assert_array_equal(convert.compressed_to_rgb(msg)[..., 0], grey)
    np.testing.assert_array_equal(convert.compressed_to_rgb(msg, 12)[..., 1], grey)


def pack422(y: np.ndarray, u: np.ndarray, v: np.ndarray, order: str) -> np.ndarray:
    """Packed 4:2:2 from full-size Y and per-pair U, V: YUYV or UYVY (ROS "yuv422")."""
    parts = {"Y0": y[:, 0::2], "Y1": y[:, 1::2], "U": u, "V": v}
    seq = ("Y0", "U", "Y1", "V") if order == "yuyv" else ("U", "Y0", "V", "Y1")
    return np.stack([parts[p] for p in seq], -1).reshape(y.shape[0], y.shape[1], 2)


def test_yuv422_both_byte_orders() -> None:
    y = RNG.integers(16, 236, (6, 8), dtype=np.uint8)
    u, v = (RNG.integers(16, 241, (6, 4), dtype=np.uint8) for _ in range(2))
    a = convert.image_to_rgb(image(pack422(y, u, v, "yuyv"), "yuyv"))
    b = convert.image_to_rgb(image(pack422(y, u, v, "uyvy"), "yuv422"))
    np.testing.assert_array_equal(a, b)  # the same picture through both byte orders
    # Without chroma the picture is grey and its brightness follows Y (video range 16-235).
    neutral = np.full((6, 4), 128, np.uint8)
    grey = convert.image_to_rgb(image(pack422(y, neutral, neutral, "yuyv"), "yuyv")).astype(int)
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1
    expected = (y.astype(float) - 16) * 255 / 219
    assert np.abs(grey[..., 1] - expected).max() <= 2


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_patterns_recover_a_flat_colour(pattern: str) -> None:
    colour = {"r": 200, "g": 120, "b": 40}
    mosaic = np.zeros((8, 8), np.uint8)
    for dy in range(2):
        for dx in range(2):
            mosaic[dy::2, dx::2] = colour[pattern[2 * dy + dx]]
    out = convert.image_to_rgb(image(mosaic, f"bayer_{pattern}8"))
    np.testing.assert_allclose(out[3:5, 3:5].reshape(-1, 3).mean(0), [200, 120, 40], atol=2)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda m: setattr(m, "encoding", "32FC1"), "unsupported encoding"),
        (lambda m: setattr(m, "data", bytes(m.data)[:-1]), "expected step x height"),
        (lambda m: setattr(m, "step", 3), "shorter than"),
    ],
)
def test_bad_images_are_explained(mutate, match: str) -> None:
    msg = image(RGB, "rgb8")
    mutate(msg)
    with pytest.raises(convert.ImageError, match=match):
        convert.image_to_rgb(msg)


def test_camera_info() -> None:
    info = CameraInfo(
        width=640, height=480, distortion_model="plumb_bob", d=[0.1, 0.0, 0.0, 0.0, 0.0]
    )
    info.k = [500.0, 0, 320, 0, 510.0, 240, 0, 0, 1]
    info.p = [400.0, 0, 300, 0, 0, 400.0, 250, 0, 0, 0, 1, 0]
    cam = convert.camera_from_info(info)
    assert cam.fx == 500 and cam.fy == 510 and cam.has_distortion
    rect = convert.camera_from_info(info, rectified=True)
    assert rect.fx == 400 and rect.principal_point == (300, 250) and not rect.has_distortion
    info.distortion_model = "equidistant"
    with pytest.raises(CameraError, match="equidistant"):
        convert.camera_from_info(info)
    info.k = [0.0] * 9
    info.d = []
    with pytest.raises(CameraError, match="not calibrated"):
        convert.camera_from_info(info)


def test_rgb_round_trip_and_header() -> None:
    header = Header(frame_id="cam")
    msg = convert.rgb_to_image(RGB, header)
    assert msg.header.frame_id == "cam" and msg.step == 24
    np.testing.assert_array_equal(convert.image_to_rgb(msg), RGB)


def test_bgr8_image_holds_the_pixels_in_bgr_order() -> None:
    """ROS4HRI face images: libhri reads the bytes as OpenCV BGR."""
    msg = convert.rgb_to_bgr8_image(RGB, Header(frame_id="cam"))
    assert (msg.encoding, msg.step, msg.width, msg.height) == ("bgr8", 24, 8, 6)
    got = np.frombuffer(bytes(msg.data), np.uint8).reshape(6, 8, 3)
    np.testing.assert_array_equal(got, RGB[..., ::-1])
    np.testing.assert_array_equal(convert.image_to_rgb(msg), RGB)


@pytest.mark.parametrize("frame_id", ["cam", "camera_color_optical_frame", ""])
def test_the_serialised_image_is_the_message_rclpy_would_send(frame_id: str) -> None:
    """Frame ids of every length (the CDR padding before the fields that follow differs)."""
    from rclpy.serialization import deserialize_message, serialize_message

    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000, 123_456_789
    rgb = np.random.default_rng(3).integers(0, 256, (5, 7, 3), np.uint8)
    data = convert.rgb_to_image_cdr(rgb, header)
    reference = convert.rgb_to_image(rgb, header)
    assert len(data) == len(serialize_message(reference))
    back = deserialize_message(data, Image)
    assert back == reference
    np.testing.assert_array_equal(convert.image_to_rgb(back), rgb)
