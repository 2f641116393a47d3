"""The recorder's writer says when its queue grows past what the disk keeps up with."""

from __future__ import annotations

import logging
from pathlib import Path

from trg_ros.tools.bag import BagWriter


def test_a_backlog_past_the_threshold_is_logged(tmp_path: Path, caplog) -> None:
    writer = BagWriter(tmp_path / "bag", backlog_warning=1000)
    writer.add_topic("/data", "std_msgs/msg/UInt8MultiArray")
    with caplog.at_level(logging.WARNING, logger="trg_ros.tools.bag"):
        writer.write("/data", 1, bytes(2000))  # queued, over the threshold: said
        assert writer.close() == {"/data": 1}
    (record,) = caplog.records
    assert "the disk is not keeping up" in record.getMessage()
