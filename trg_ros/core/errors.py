"""Typed errors of the core: callers catch these, not bare exceptions."""

from __future__ import annotations


class TRGError(Exception):
    """Base class of every error the ROS-free core raises on purpose."""


class CheckpointError(TRGError):
    """A checkpoint or model data file is missing, unreadable or does not fit TRG."""


class AssetError(TRGError):
    """An asset could not be fetched, verified or installed."""


class CameraError(TRGError, ValueError):
    """Camera intrinsics are missing, zero, non-finite or do not match the image."""
