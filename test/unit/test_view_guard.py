"""The view's server keeps to the user's own tabs: no share tunnel on request, no data to a
page of another site, a warning when it listens beyond this machine."""

from __future__ import annotations

import time

import msgspec
import pytest
import viser
from viser import _messages
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from trg_ros.tools.view.guard import origin_allowed
from trg_ros.tools.view.scene import Scene

SUBPROTOCOL = f"viser-v{viser.__version__}"


@pytest.fixture
def scene():
    s = Scene(port=0)
    yield s
    s.close()


def first_message(scene: Scene, origin: str | None) -> bytes | None:
    """What a websocket client sent with ``origin`` receives first (None: closed)."""
    headers = {} if origin is None else {"Origin": origin}
    url = f"ws://127.0.0.1:{scene.port}"
    with connect(url, subprotocols=[SUBPROTOCOL], additional_headers=headers) as ws:
        try:
            return ws.recv(timeout=5)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008
            return None


def test_a_page_of_another_site_gets_nothing_and_the_served_page_gets_the_scene(scene) -> None:
    assert first_message(scene, "http://evil.example") is None
    assert first_message(scene, f"http://localhost:{scene.port}") is None  # Host differs
    assert first_message(scene, f"http://127.0.0.1:{scene.port}") is not None
    assert first_message(scene, None) is not None


def test_a_share_request_opens_no_tunnel(scene) -> None:
    url = f"ws://127.0.0.1:{scene.port}"
    request = msgspec.msgpack.encode(_messages.ShareUrlRequest().as_serializable_dict())
    with connect(url, subprotocols=[SUBPROTOCOL]) as ws:
        ws.send(request)
        time.sleep(1.5)  # unguarded, viser has made its tunnel by then
    assert scene.server._share_tunnel is None
    assert scene.server.request_share_url() is None


def test_origins() -> None:
    assert origin_allowed("http://localhost:8080", "localhost:8080", "127.0.0.1")
    assert not origin_allowed("http://evil.example:8080", "evil.example:8080", "127.0.0.1")
    assert origin_allowed("http://10.0.0.5:8080", "10.0.0.5:8080", "0.0.0.0")
    assert not origin_allowed("http://evil.example", "10.0.0.5:8080", "0.0.0.0")


def test_listening_beyond_this_machine_warns(capsys) -> None:
    Scene(host="0.0.0.0", port=0).close()
    assert "warning: the view listens on 0.0.0.0" in capsys.readouterr().err
    Scene(port=0).close()
    assert "warning" not in capsys.readouterr().err
