"""The ROS4HRI face topics of the real node (through ``ros2 launch`` of the installed package,
or its process), read by a consumer that follows libhri's contract (hri_consumer.py): ids
come and go with the faces, ROI, cropped image, landmarks and TF agree with the node's own
results, two faces, a face that leaves and comes back (a new id), the empty list on
deactivate and on Ctrl-C, new ids after reactivation, and the launch argument
``ros4hri:=false``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from geometry_msgs.msg import TransformStamped
from hri_consumer import HriConsumer
from installed import Launched, prefix_env
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from test_launch import two_faces
from trg_ros.msg import HeadPoseArray

from trg_ros.core import hri
from trg_ros.core.types import Head
from trg_ros.ros.convert import rgb_to_image

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAME = "camera_optical_frame"
FX = 600.0
REPO = Path(__file__).resolve().parents[2]
# MediaPipe's own Face Landmarker lives in a venv of its own (scripts/dev test makes it).
ORACLE_PYTHON = Path(os.environ.get("TRG_ORACLE_PYTHON", REPO / ".venv-oracle" / "bin" / "python"))
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


class Camera:
    """Publishes ``image`` + ``camera_info`` at 5 Hz from the consumer's node (the picture can
    be swapped while it runs) and a static ``base_link`` -> camera transform."""

    def __init__(self, consumer: HriConsumer, image: np.ndarray) -> None:
        from tf2_ros import StaticTransformBroadcaster

        node = consumer.node
        self.image = image
        self.sent: dict[tuple[int, int], np.ndarray] = {}
        self._img = node.create_publisher(Image, "image", qos_profile_sensor_data)
        self._info = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
        self._static = StaticTransformBroadcaster(node)
        t = TransformStamped()
        t.header.frame_id, t.child_frame_id = "base_link", FRAME
        t.transform.translation.z = 1.2  # a camera 1.2 m above base_link, looking forward
        t.transform.rotation.x, t.transform.rotation.y = -0.5, 0.5
        t.transform.rotation.z, t.transform.rotation.w = -0.5, 0.5
        self._static.sendTransform(t)
        self._node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            image = self.image
            h, w = image.shape[:2]
            header = Header(stamp=self._node.get_clock().now().to_msg(), frame_id=FRAME)
            self._info.publish(camera_info(w, h, FX, header))
            self._img.publish(rgb_to_image(image, header))
            self.sent[(header.stamp.sec, header.stamp.nanosec)] = image

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def key(header) -> tuple[int, int]:
    return header.stamp.sec, header.stamp.nanosec


@pytest.fixture
def launch(ament_prefix: Path, ros2_cli: None, model_dir: Path, tmp_path: Path):
    """``ros2 launch trg_ros head_pose.launch.py ARGS`` on the CPU, reading /image and
    /camera_info, the test's model files as the asset cache."""
    env = prefix_env(ament_prefix) | {"TRG_ROS_HOME": str(model_dir)}
    made: list[Launched] = []

    def start(*args: str) -> Launched:
        command = ["trg_ros", "head_pose.launch.py", "device:=cpu", "image:=/image",
                   "camera_info:=/camera_info", *args]  # fmt: skip
        made.append(Launched(command, env, tmp_path / "launch.log"))
        return made[-1]

    yield start
    for x in made:
        x.interrupt()
        print(f"--- launch log\n{x.text()[-4000:]}")


@pytest.fixture
def consumer():
    made: list[HriConsumer] = []
    cameras: list[Camera] = []

    def make(image: np.ndarray) -> tuple[HriConsumer, Camera]:
        c = HriConsumer(extra={"heads": (HeadPoseArray, RELIABLE)})
        made.append(c)
        cameras.append(Camera(c, image))
        return c, cameras[-1]

    yield make
    for cam in cameras:
        cam.stop()
    for c in made:
        c.close()


def heads_by_stamp(c: HriConsumer) -> dict[tuple[int, int], list]:
    return {key(m.header): list(m.heads) for m in c.extra["heads"]}


def publishers(c: HriConsumer, topic: str) -> int:
    return c.node.count_publishers(topic)


def change_state(c: HriConsumer, transition: int) -> float:
    """Ask the node for a transition; the monotonic time its answer came."""
    client = c.node.create_client(ChangeState, "/trg_head_pose/change_state")
    assert client.wait_for_service(timeout_sec=15)
    future = client.call_async(ChangeState.Request(transition=Transition(id=transition)))
    end = time.monotonic() + 30
    while not future.done() and time.monotonic() < end:
        time.sleep(0.02)
    assert future.done() and future.result().success
    return time.monotonic()


def pipeline_irises(model_dir: Path, image: np.ndarray) -> np.ndarray:
    """(2, 2) FaceMesh points 468/473 (px) of the one face in ``image``, as the core pipeline
    finds them with the node's default parameters once its track has settled."""
    from trg_ros.core.camera import CameraModel
    from trg_ros.ros.factory import build_pipeline
    from trg_ros.ros.params import NodeParams

    p = NodeParams(model="facemesh", data_dir=str(model_dir), device="cpu")
    pipeline = build_pipeline(p, "").pipeline
    h, w = image.shape[:2]
    camera = CameraModel(np.array([[FX, 0, w / 2], [0, FX, h / 2], [0, 0, 1]]), w, h)
    for i in range(10):
        heads = pipeline.process(image, camera, 0.2 * i).heads
    (head,) = heads
    assert head.face_landmarks is not None
    return head.face_landmarks[[468, 473], :2]


def test_consumer_follows_a_facemesh_face(launch, consumer, facemesh_model_dir: Path) -> None:
    launched = launch("model:=facemesh")
    face = skimage.data.astronaut()
    c, camera = consumer(face)

    def complete() -> bool:
        f = c.faces.get("a")
        return (
            f is not None and len(f.roi) >= 3 and len(f.cropped) >= 2 and len(f.aligned) >= 2
            and len(f.landmarks) >= 3
        )  # fmt: skip

    assert c.wait_for(complete, 90), launched.text()[-3000:]
    with c.lock:
        f = c.faces["a"]
        rois, crops, marks = list(f.roi), list(f.cropped), list(f.landmarks)
        heads = heads_by_stamp(c)
        lists = list(c.lists)
    assert all(m.header.frame_id == FRAME and key(m.header) in camera.sent for m in rois + marks)
    assert any(m.ids == ["a"] for m in lists)
    assert all(key(m.header) in camera.sent for m in lists if m.ids)

    # ROI = the detection box / (W, H), c = its score
    matched = 0
    for roi in rois:
        for h in heads.get(key(roi.header), []):
            box = np.array(h.box) / [512, 512, 512, 512]
            got = [roi.xmin, roi.ymin, roi.xmax, roi.ymax]
            np.testing.assert_allclose(got, box, atol=1e-3)
            assert roi.c == pytest.approx(h.score, abs=1e-6)
            matched += 1
    assert matched, "no ROI with the stamp of a heads message"

    # cropped = that region of the image, resized (size from ros4hri_face_width/height)
    crop = crops[-1]
    # bgr8, as hri_face_detect publishes and libhri reads them (cv_bridge, no conversion)
    assert (crop.width, crop.height, crop.encoding) == (128, 128, "bgr8")
    (h,) = heads[key(crop.header)]
    x0, y0, x1, y1 = (round(float(v)) for v in h.box)
    want = cv2.resize(face[y0:y1, x0:x1], (128, 128), interpolation=cv2.INTER_AREA)
    got = np.frombuffer(crop.data, np.uint8).reshape(128, 128, 3)[..., ::-1]
    assert np.abs(got.astype(int) - want).mean() <= 2.0

    # aligned = the region turned by the eye line's roll (computed here from the node's own
    # box and landmarks: the consumer's view agrees with the core's definition)
    aligned = f.aligned[-1] if f.aligned else None
    assert aligned is not None
    assert (aligned.width, aligned.height, aligned.encoding) == (128, 128, "bgr8")
    (h,) = heads[key(aligned.header)]
    lmk = np.reshape(h.landmarks_2d, (68, 2))
    like = Head(h.id, h.score, np.array(h.box), np.eye(3), np.zeros(3), np.zeros((1, 3)), lmk,
                np.zeros(3), h.model)  # fmt: skip
    want = hri.align_face(face, like, (128, 128))
    got = np.frombuffer(aligned.data, np.uint8).reshape(128, 128, 3)[..., ::-1]
    assert np.abs(got.astype(int) - want).mean() <= 2.0

    # landmarks: the node's 68 points, and the pupils from FaceMesh's irises 468/473
    lm = marks[-1]
    assert (lm.width, lm.height, len(lm.landmarks)) == (512, 512, 70)
    pts = np.array([(p.x, p.y) for p in lm.landmarks]) * 512 - 0.5  # px, centres on integers
    (h,) = heads[key(lm.header)]
    np.testing.assert_allclose(pts[:68], np.reshape(h.landmarks_2d, (68, 2)), atol=512e-6)
    assert all(p.c == 1.0 for p in lm.landmarks)
    irises = pipeline_irises(facemesh_model_dir, face)
    assert np.abs(pts[68:] - irises).max() <= 1.0, (pts[68:], irises)
    assert pts[68, 0] < pts[69, 0], "subject's right pupil is on the image's left"

    # TF at the pose's stamp, from base_link as libhri looks it up
    t = c.transform("a", rois[-1].header.stamp)
    assert 0.3 < t.transform.translation.x < 2.0, t  # in front of base_link

    # the face leaves: off the list, its topics gone
    camera.image = np.zeros_like(face)
    assert c.wait_for(lambda: c.lists and c.lists[-1].ids == [] and not c.faces, 30)
    assert c.wait_for(lambda: publishers(c, "/humans/faces/a/roi") == 0, 15)
    assert publishers(c, "/humans/faces/a/cropped") == 0

    # it comes back: a new id (never reused), subscribed afresh
    camera.image = face
    assert c.wait_for(lambda: "b" in c.faces and len(c.faces["b"].roi) >= 2, 60)

    # deactivate: the empty list goes out before the transition completes, then nothing
    answered = change_state(c, Transition.TRANSITION_DEACTIVATE)
    assert c.wait_for(lambda: c.lists[-1].ids == [], 5), c.lists[-3:]
    n = len(c.lists)
    time.sleep(1.0)
    assert len(c.lists) == n, "tracked lists after the deactivation"
    assert c.wait_for(lambda: publishers(c, "/humans/faces/b/roi") == 0, 15)
    assert c.left.get("b", answered + 10) < answered + 1.0

    # activate again: the face still in view is a new one (its track ended with the
    # deactivation that announced it gone), and "b" never comes back
    n = len(c.lists)
    change_state(c, Transition.TRANSITION_ACTIVATE)
    assert c.wait_for(lambda: "c" in c.faces and len(c.faces["c"].roi) >= 2, 60), c.lists[-3:]
    with c.lock:
        assert not any("b" in m.ids for m in c.lists[n:]) and "b" not in c.faces


@pytest.mark.parametrize("signals", [False, True])
def test_two_faces_from_trg(
    node_process, consumer, tmp_path: Path, facemesh_model_dir: Path, signals: bool
) -> None:
    """TRG (the parity weights) on two faces: two ids, both with ROI, landmarks and TF. TRG
    gives no iris points: without the driver-monitoring signals the pupils carry confidence
    0; with them (the default) FaceMesh runs on TRG's faces and gives the pupils."""
    node_process(f"face_signals:={str(signals).lower()}")
    c, _ = consumer(two_faces())

    def both() -> bool:
        ok = [f for f in c.faces.values() if len(f.roi) >= 2 and f.landmarks]
        return len(ok) == 2

    assert c.wait_for(both, 90), (tmp_path / "node0.log").read_text()[-3000:]
    with c.lock:
        faces = {i: (list(f.roi), list(f.landmarks)) for i, f in c.faces.items()}
        lists = [m for m in c.lists if len(m.ids) == 2]
    assert set(faces) == {"a", "b"} and lists
    x_min = []
    for face_id, (rois, marks) in faces.items():
        lm = marks[-1]
        assert (lm.width, lm.height) == (1024, 512)
        pupil = 1.0 if signals else 0.0
        assert lm.landmarks[68].c == pupil and lm.landmarks[69].c == pupil
        assert all(p.c == 1.0 for p in lm.landmarks[:68])
        assert c.transform(face_id, rois[-1].header.stamp) is not None
        x_min.append(rois[-1].xmin)
    assert abs(x_min[0] - x_min[1]) > 0.3, "the two faces are the two halves of the image"


def test_ctrl_c_sends_the_empty_list_before_the_node_ends(
    node_process, consumer, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT) runs the shutdown transition while the context is up: libhri
    consumers hear that every face is gone instead of keeping ghosts."""
    proc = node_process()
    c, camera = consumer(skimage.data.astronaut())
    assert c.wait_for(lambda: c.lists and c.lists[-1].ids == ["a"], 90), (
        tmp_path / "node0.log"
    ).read_text()[-3000:]
    camera.stop()  # no new frame races the interrupt
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    assert c.wait_for(lambda: c.lists[-1].ids == [], 5), c.lists[-3:]
    assert not c.faces


def test_ctrl_c_while_the_node_configures_ends_it_cleanly(node_process, tmp_path: Path) -> None:
    """Ctrl-C in the middle of the start-up's configure (the first runtime line is logged
    while the models load): the interrupted transition cannot be followed by a shutdown one,
    yet the node ends at once, exit code 0, no traceback."""
    proc = node_process()
    log = tmp_path / "node0.log"
    end = time.monotonic() + 60
    while "runs with" not in log.read_text() and time.monotonic() < end:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_ros4hri_false_publishes_none_of_it(launch, consumer, facemesh_model_dir: Path) -> None:
    launched = launch("ros4hri:=false", "model:=facemesh")
    c, _ = consumer(skimage.data.astronaut())
    assert c.wait_for(lambda: any(m.heads for m in c.extra["heads"]), 90), launched.text()
    time.sleep(1.0)
    assert publishers(c, "/humans/faces/tracked") == 0
    published = [t for t, _ in c.node.get_publisher_names_and_types_by_node("trg_head_pose", "/")]
    assert "/heads" in published and not [t for t in published if "humans" in t], published
    assert not c.lists


def test_without_hri_msgs_the_node_says_so_once_and_runs(
    node_process, consumer, tmp_path: Path
) -> None:
    """hri_msgs not importable (a stand-in package that fails to import, first on the path):
    heads flow as always and one log line says that the ROS4HRI outputs are off."""
    blocker = tmp_path / "no_hri" / "hri_msgs"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('hri_msgs hidden by the test')\n")
    path = f"{blocker.parent}:{os.environ.get('PYTHONPATH', '')}"
    node_process(env={"PYTHONPATH": path})
    c, _ = consumer(skimage.data.astronaut())
    log = tmp_path / "node0.log"
    assert c.wait_for(lambda: any(m.heads for m in c.extra["heads"]), 90), log.read_text()
    assert publishers(c, "/humans/faces/tracked") == 0
    text = log.read_text()
    assert text.count("ROS4HRI outputs are off") == 1, text[-3000:]
    assert "hri_msgs hidden by the test" in text


def mediapipe_face(image: np.ndarray, task: Path, tmp: Path) -> tuple[np.ndarray, str]:
    """(478, 2) px of the one face MediaPipe's own Face Landmarker finds, and its version."""
    if not ORACLE_PYTHON.is_file():
        pytest.fail(
            f"no MediaPipe reference venv at {ORACLE_PYTHON}: scripts/dev test creates it "
            "(requirements/oracle.txt), or set TRG_ORACLE_PYTHON"
        )
    np.save(tmp / "oracle.npy", image)
    script = REPO / "test" / "oracle" / "mediapipe_face.py"
    done = subprocess.run(
        [str(ORACLE_PYTHON), str(script), str(tmp / "oracle.npy"), str(task)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert len(out["faces"]) == 1, f"MediaPipe found {len(out['faces'])} faces"
    return np.array(out["faces"][0]), out["version"]


def test_landmarks_agree_with_mediapipes_own_face_landmarker(
    node_process, consumer, facemesh_model_dir: Path, facemesh_dir: Path, tmp_path: Path
) -> None:
    """An independent check of what a ROS4HRI consumer gets: the pupils within 1 px of
    MediaPipe's iris centres 468/473 and the eye corners within 3 % of the inter-ocular
    distance (outer corners) of MediaPipe's 33/133/362/263, on the same image."""
    face = skimage.data.astronaut()
    task = facemesh_dir / "face_landmarker.task"  # the bundle our FaceMesh files come from
    reference, version = mediapipe_face(face, task, tmp_path)
    node_process("model:=facemesh")
    c, _ = consumer(face)
    got = lambda: c.faces.get("a") is not None and len(c.faces["a"].landmarks) >= 3  # noqa: E731
    assert c.wait_for(got, 90), (tmp_path / "node0.log").read_text()[-3000:]
    with c.lock:
        lm = c.faces["a"].landmarks[-1]
    pts = np.array([(p.x * lm.width, p.y * lm.height) for p in lm.landmarks]) - 0.5
    pupils = np.linalg.norm(pts[[68, 69]] - reference[[468, 473]], axis=1)
    assert pupils.max() <= 1.0, f"pupils {pupils} px off MediaPipe {version}"
    iod = np.linalg.norm(reference[33] - reference[263])
    corners = np.linalg.norm(pts[[36, 39, 42, 45]] - reference[[33, 133, 362, 263]], axis=1)
    assert corners.max() <= 0.03 * iod, f"eye corners {corners / iod} of the IOD off"
