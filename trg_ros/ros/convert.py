"""Pure conversions of the node's inputs: images and CameraInfo (message in, value out)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import CameraError
from trg_ros.ros import cdr


class ImageError(ValueError):
    """An image message that cannot be turned into an RGB array."""


# encoding -> (channels, dtype, cv2 conversion to RGB or None)
_PLAIN = {
    "rgb8": (3, np.uint8, None),
    "bgr8": (3, np.uint8, cv2.COLOR_BGR2RGB),
    "rgba8": (4, np.uint8, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2RGB),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2RGB),
    "8uc1": (1, np.uint8, cv2.COLOR_GRAY2RGB),
    "8uc3": (3, np.uint8, cv2.COLOR_BGR2RGB),
    "mono16": (1, np.uint16, cv2.COLOR_GRAY2RGB),
    "16uc1": (1, np.uint16, cv2.COLOR_GRAY2RGB),
    "rgb16": (3, np.uint16, None),
    "bgr16": (3, np.uint16, cv2.COLOR_BGR2RGB),
    # Packed 4:2:2. In ROS "yuv422" is UYVY; "yuv422_yuy2" / "yuyv" are YUYV.
    "yuv422": (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": (2, np.uint8, cv2.COLOR_YUV2RGB_YUYV),
    "yuyv": (2, np.uint8, cv2.COLOR_YUV2RGB_YUYV),
    # Bayer: OpenCV names the pattern by its second row, hence the apparent swap.
    "bayer_rggb8": (1, np.uint8, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr8": (1, np.uint8, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": (1, np.uint8, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg8": (1, np.uint8, cv2.COLOR_BayerGB2RGB),
    "bayer_rggb16": (1, np.uint16, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr16": (1, np.uint16, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg16": (1, np.uint16, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg16": (1, np.uint16, cv2.COLOR_BayerGB2RGB),
}
SUPPORTED_ENCODINGS = tuple(sorted(_PLAIN))

# Significant bits of 16-bit pixels: a number (0 = from this image alone), or a function of
# the 16-bit array that answers for a whole stream (:class:`StreamDepth`).
BitDepth = int | Callable[[np.ndarray], int]


def significant_bits(arr: np.ndarray) -> int:
    """The bit depth a 16-bit image's brightest pixel needs, rounded up to a sensor's
    (8, 10, 12, 14 or 16)."""
    bits = max(8, int(arr.max(initial=0)).bit_length())
    return bits + bits % 2


class StreamDepth:
    """The significant bits of a 16-bit stream: the deepest of its frames so far, so one dark
    frame is not brightened, nor one hot pixel allowed to dim the stream for good."""

    def __init__(self) -> None:
        self.deepest = 8

    def __call__(self, arr: np.ndarray) -> int:
        self.deepest = max(self.deepest, significant_bits(arr))
        return self.deepest


def to_8bit(arr: np.ndarray, bit_depth: BitDepth = 0) -> np.ndarray:
    """16-bit pixels -> uint8 by their significant bits (10- and 12-bit cameras store values
    below 1024 / 4096 in 16-bit words); ``bit_depth`` 0 takes them from this image."""
    bits = bit_depth(arr) if callable(bit_depth) else bit_depth or significant_bits(arr)
    shifted = arr >> np.uint16(bits - 8)
    return np.minimum(shifted, 255).astype(np.uint8)


def image_to_rgb(msg: Image, bit_depth: BitDepth = 0) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB; no copy for rgb8 without row padding.

    ``bit_depth``: significant bits of 16-bit encodings (see :func:`to_8bit`).
    """
    enc = msg.encoding.lower()
    if enc not in _PLAIN:
        raise ImageError(
            f"unsupported encoding {msg.encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    channels, dtype, code = _PLAIN[enc]
    h, w, step = msg.height, msg.width, msg.step
    if h < 1 or w < 1:
        raise ImageError(f"empty image {w}x{h}")
    row = w * channels * np.dtype(dtype).itemsize
    if step < row:
        raise ImageError(f"step {step} is shorter than a {enc} row of width {w} ({row} bytes)")
    if len(msg.data) != step * h:
        raise ImageError(f"data has {len(msg.data)} bytes, expected step x height = {step * h}")
    buf = np.frombuffer(msg.data, np.uint8).reshape(h, step)[:, :row]
    arr = buf.view(np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<"))
    arr = arr.reshape(h, w, channels) if channels > 1 else arr.reshape(h, w)
    if dtype == np.uint16:
        arr = to_8bit(arr.astype(np.uint16), bit_depth)
    if code is not None:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), code)
    return arr


def compressed_to_rgb(msg: CompressedImage, bit_depth: BitDepth = 0) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg, png - 16-bit PNGs too) -> (H, W, 3) uint8 RGB.

    ``bit_depth``: significant bits of a 16-bit PNG (see :func:`to_8bit`).
    """
    img = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageError(f"cannot decode compressed image (format {msg.format!r})")
    if img.dtype == np.uint16:
        img = to_8bit(img, bit_depth)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    code = cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(img, code)


def rgb_to_image(rgb: np.ndarray, header: Header) -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image rgb8."""
    msg = _image_fields(rgb, header)
    msg.data = np.ascontiguousarray(rgb, np.uint8).tobytes()
    return msg


def rgb_to_bgr8_image(rgb: np.ndarray, header: Header) -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image bgr8, for consumers that take the pixels as
    OpenCV's BGR whatever the encoding says (libhri's face images through cv_bridge's
    ``toCvShare``, as hri_face_detect publishes them)."""
    msg = _image_fields(rgb, header, "bgr8")
    msg.data = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2BGR).tobytes()
    return msg


def rgb_to_image_cdr(rgb: np.ndarray, header: Header) -> bytes:
    """The same Image serialised, for ``publish``: the pixels are appended in one copy (a
    640x480 frame takes 0.5 ms, against 3 ms through the message and rclpy's serialiser)."""
    head = cdr.serialize(_image_fields(rgb, header))  # ends with the empty data's length
    data = np.ascontiguousarray(rgb, np.uint8).tobytes()
    return head[:-4] + struct.pack("<I", len(data)) + data


def _image_fields(rgb: np.ndarray, header: Header, encoding: str = "rgb8") -> Image:
    h, w = rgb.shape[:2]
    return Image(header=header, height=h, width=w, encoding=encoding, is_bigendian=0, step=w * 3)


def camera_from_info(msg: CameraInfo, rectified: bool = False) -> CameraModel:
    """CameraInfo -> CameraModel of the image it describes: K and D, or P and no distortion
    when ``rectified``, for the ``roi`` and ``binning_x/y`` the image was taken with
    (:meth:`CameraModel.windowed`; width and height are then the binned window's).

    ``roi.do_rectify`` is not read: the raw roi sets the size, as for an unrectified image
    (image_geometry too moves P by the raw roi's offsets).

    Raises:
        CameraError: zero/non-finite intrinsics, a distortion model we cannot apply, or a
            roi outside the calibrated size.
    """
    if rectified:
        p = np.asarray(msg.p, dtype=np.float64).reshape(3, 4)
        full = CameraModel(p[:, :3], msg.width, msg.height)
    else:
        d = np.asarray(msg.d, dtype=np.float64)
        if d.any() and msg.distortion_model not in ("plumb_bob", "rational_polynomial"):
            raise CameraError(
                f"distortion model {msg.distortion_model!r} is not supported "
                "(plumb_bob, rational_polynomial); set rectified:=true on a rectified "
                "image"
            )
        full = CameraModel(np.asarray(msg.k, dtype=np.float64), msg.width, msg.height, d)
    roi = msg.roi
    return full.windowed(
        msg.binning_x, msg.binning_y, (roi.x_offset, roi.y_offset, roi.width, roi.height)
    )


def window_text(msg: CameraInfo) -> str:
    """How a CameraInfo's binning and roi shape its image, for messages ("" when unused)."""
    roi = msg.roi
    parts = []
    if msg.binning_x > 1 or msg.binning_y > 1:
        parts.append(f"binning {max(1, msg.binning_x)}x{max(1, msg.binning_y)}")
    if any((roi.x_offset, roi.y_offset, roi.width, roi.height)):
        parts.append(f"roi {roi.width}x{roi.height} at ({roi.x_offset}, {roi.y_offset})")
    if not parts:
        return ""
    return f"CameraInfo {msg.width}x{msg.height} with {' and '.join(parts)}"
