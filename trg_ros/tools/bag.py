"""Writing rosbag2 folders with MCAP storage (what ``ros2 bag``, Foxglove/Lichtblick and
Rerun open), without ROS: ``rosbags`` writes ``metadata.yaml`` and zstd-compressed chunks.

Messages arrive already serialised (CDR, as DDS carried them), so recording never converts
them; a thread of its own writes, so a subscriber callback only hands the bytes over.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from pathlib import Path
from typing import Any

from trg_ros.core.errors import TRGError

log = logging.getLogger(__name__)
_END = object()
# Queued but not yet written: past this the disk is not keeping up (raw 640x480 images at
# 30 Hz are 28 MB/s), said once until the queue has drained to half of it.
BACKLOG_WARNING = 256 * 2**20  # bytes


def installed_msg_files(package: str) -> list[Path]:
    """The ``.msg`` files ``package`` installed (share/<package>/msg), looked up as ament
    does: each prefix of AMENT_PREFIX_PATH, then this Python's prefix (the venv)."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    for prefix in [*prefixes, sys.prefix]:
        files = sorted((Path(prefix) / "share" / package / "msg").glob("*.msg"))
        if files:
            return files
    raise TRGError(f"no installed message definitions of {package} (share/{package}/msg)")


def require_rosbags() -> None:
    """Fail with what to install when ``rosbags`` (recordings, ``--bag``) is missing."""
    try:
        import rosbags  # noqa: F401
    except ImportError as e:
        raise TRGError(
            "recordings need the rosbags package: pip install rosbags "
            "(it is in requirements/core.txt and requirements/colcon.txt)"
        ) from e


def typestore(packages: tuple[str, ...] = ("trg_ros",)) -> Any:
    """ROS 2 Kilted's types plus ``packages``' own, read from their installed .msg files now,
    so a recording embeds the definitions the running code was built with."""
    require_rosbags()
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    types: dict[str, Any] = {}
    for package in packages:
        for path in installed_msg_files(package):
            types |= get_types_from_msg(path.read_text(), f"{package}/msg/{path.stem}")
    store.register(types)
    return store


class BagWriter:
    """A rosbag2 folder (MCAP storage, zstd chunks) written on a thread of its own.

    Nothing is dropped: :meth:`write` queues without bound (a backlog past
    ``backlog_warning`` bytes is logged), and :meth:`close` writes what is queued before it
    closes the bag.
    """

    def __init__(
        self, path: Path, store: Any | None = None, backlog_warning: int = BACKLOG_WARNING
    ) -> None:
        require_rosbags()
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.rosbag2.enums import CompressionFormat, CompressionMode

        path = Path(path)
        if path.exists():
            raise TRGError(f"{path} exists: a recording goes into a new folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._store = store or typestore()
        self._writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self._queue: queue.Queue[Any] = queue.Queue()
        self._error: BaseException | None = None
        self._backlog = 0  # bytes queued, not yet written
        self._backlog_warning, self._warned = backlog_warning, False
        self._thread = threading.Thread(target=self._run, name="trg_bag_writer", daemon=True)
        self._thread.start()

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Declare ``topic`` (``msgtype`` as ``pkg/msg/Name``) before its first message."""
        self._queue.put(("topic", topic, msgtype))

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        """Queue one serialised message received at ``stamp_ns`` (ns since the epoch)."""
        if self._error is not None:
            raise self._error
        self._backlog += len(data)  # two threads update it unlocked: approximate, for a warning
        if self._backlog > self._backlog_warning and not self._warned:
            self._warned = True
            log.warning(
                "recording %s: %.0f MB queued, the disk is not keeping up (memory grows)",
                self.path,
                self._backlog / 1e6,
            )
        self._queue.put(("msg", topic, stamp_ns, data))

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is not None:
                continue
            try:
                if item[0] == "topic":
                    _, topic, msgtype = item
                    self._connections[topic] = self._writer.add_connection(
                        topic, msgtype, typestore=self._store
                    )
                    self.counts[topic] = 0
                else:
                    _, topic, stamp, data = item
                    self._backlog -= len(data)
                    if self._backlog < self._backlog_warning // 2:
                        self._warned = False
                    self._writer.write(self._connections[topic], stamp, data)
                    self.counts[topic] += 1
            except BaseException as e:  # raised in the caller at the next write or close
                log.error("writing %s failed: %s", self.path, e)
                self._error = e

    def close(self) -> dict[str, int]:
        """Write what is queued, close the bag; returns the message count per topic."""
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()
            self._writer.close()
        if self._error is not None:
            raise TRGError(f"recording {self.path} failed: {self._error}") from self._error
        return dict(self.counts)
