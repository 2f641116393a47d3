"""The FaceMesh node on the CPU never imports PyTorch: up to ``active``, through a frame with a
face, to its exit (torch alone took about a second of its start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import skimage.data
from lifecycle_msgs.srv import GetState
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from trg_ros.msg import HeadPoseArray

from trg_ros.ros.convert import rgb_to_image

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]

# `trg-ros node` as the console script runs it, writing the names of every module it imported
# to a file when the process ends.
NODE = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from trg_ros.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_facemesh_node_runs_without_torch(
    facemesh_model_dir: Path, collector_factory, tmp_path: Path
) -> None:
    modules, log = tmp_path / "modules.json", tmp_path / "node.log"
    params = {"model": "facemesh", "device": "cpu", "data_dir": facemesh_model_dir}
    cmd = [sys.executable, "-c", NODE, str(modules), "node", "--ros-args"]
    for name, value in params.items():
        cmd += ["-p", f"{name}:={value}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    try:
        col = collector_factory({"heads": HeadPoseArray})
        client = col.node.create_client(GetState, "/trg_head_pose/get_state")
        assert client.wait_for_service(timeout_sec=60), log.read_text()
        future = client.call_async(GetState.Request())
        assert col.wait_for(future.done, 60), log.read_text()
        assert future.result().current_state.label == "active", log.read_text()
        pub_img, pub_info = col.publisher(Image, "image"), col.publisher(CameraInfo, "camera_info")
        rgb = skimage.data.astronaut()

        def a_face_came_back() -> bool:
            header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id="cam")
            pub_info.publish(camera_info(512, 512, 600.0, header))
            time.sleep(0.05)
            pub_img.publish(rgb_to_image(rgb, header))
            return col.wait_for(lambda: any(m.heads for m in col.get("heads")), 1.0)

        assert col.wait_for(a_face_came_back, 60), log.read_text()
        assert col.get("heads")[-1].heads[0].model == "facemesh"
    finally:
        proc.send_signal(2)
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()
    imported = json.loads(modules.read_text())
    assert "trg_ros.core.facemesh.estimator" in imported  # the record is of the node's run
    assert [m for m in imported if m == "torch" or m.startswith("torch.")] == []
