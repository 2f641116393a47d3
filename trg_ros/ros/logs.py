"""The core's Python logging, forwarded to the node's ROS logger (/rosout, the ROS log files,
the launch file's log_level), so nothing the core reports is lost to a bare stderr."""

from __future__ import annotations

import logging
from typing import Any

CORE_LOGGER = "trg_ros"


class RosLogHandler(logging.Handler):
    """Hands each ``trg_ros.*`` record to an rclpy logger at the matching severity."""

    def __init__(self, ros_logger: Any) -> None:
        super().__init__()
        self._ros = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name}: {record.getMessage()}"
            if record.levelno >= logging.ERROR:
                self._ros.error(text)
            elif record.levelno >= logging.WARNING:
                self._ros.warning(text)
            elif record.levelno >= logging.INFO:
                self._ros.info(text)
            else:
                self._ros.debug(text)
        except Exception:  # a log line must never break the frame that wrote it
            self.handleError(record)


def forward_core_logs(ros_logger: Any) -> RosLogHandler:
    """Route the core's records to ``ros_logger`` instead of the root handlers."""
    handler = RosLogHandler(ros_logger)
    core = logging.getLogger(CORE_LOGGER)
    core.addHandler(handler)
    core.setLevel(logging.DEBUG if ros_logger.get_effective_level() <= 10 else logging.INFO)
    core.propagate = False
    return handler


def stop_forwarding(handler: RosLogHandler) -> None:
    core = logging.getLogger(CORE_LOGGER)
    core.removeHandler(handler)
    if not any(isinstance(h, RosLogHandler) for h in core.handlers):
        core.propagate = True
