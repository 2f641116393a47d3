"""Asset fetching against a real HTTP server on 127.0.0.1 serving the fixture's data files."""

from __future__ import annotations

import dataclasses
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from trg_ros.core import assets
from trg_ros.core.errors import AssetError

UPSTREAM_NAMES = {
    "arkit_subsample.pkl": "data__arkit_subsample.pkl",
    "triangles.npy": "data__triangles.npy",
    "kpt_ind.npy": "npy__kpt_ind.npy",
}


class Server(http.server.ThreadingHTTPServer):
    root: Path
    truncate_next: set[str]
    ranges_seen: list[str]


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves files with Range support; can cut one transfer short to test resuming."""

    server: Server

    def do_GET(self) -> None:
        name = self.path.strip("/")
        path = self.server.root / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng:
            self.server.ranges_seen.append(rng)
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.server.truncate_next:
            self.server.truncate_next.discard(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the client sees a short read
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(reference: Path, tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    for name, upstream in UPSTREAM_NAMES.items():
        shutil.copy(reference / "upstream" / upstream, root / name)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root, srv.truncate_next, srv.ranges_seen = root, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def test_fetch_installs_and_converts(server: Server, tmp_path: Path, reference: Path) -> None:
    cache = tmp_path / "cache"
    calls: list[tuple[int, int]] = []
    assets.fetch(
        assets.DATA_FILES,
        cache,
        mirror=url(server),
        progress=lambda a: lambda done, total: calls.append((done, total)),
    )
    assert assets.verify(assets.DATA_FILES, cache) == []
    idx = np.load(cache / "arkit_subsample__1220_to_305.npy", allow_pickle=False)
    np.testing.assert_array_equal(
        idx, np.load(reference / "converted/arkit_subsample__1220_to_305.npy")
    )
    assert calls and calls[-1][0] == calls[-1][1]
    assert not list(cache.glob("*.part"))


def test_fetch_resumes_a_truncated_transfer(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    server.truncate_next.add("arkit_subsample.pkl")
    with pytest.raises(AssetError):
        assets.fetch(assets.DATA_FILES[:1], cache, mirror=url(server))
    part = cache / "arkit_subsample.pkl.part"
    assert 0 < part.stat().st_size < assets.DATA_FILES[0].size
    assets.fetch(assets.DATA_FILES[:1], cache, mirror=url(server))
    assert server.ranges_seen == [f"bytes={assets.DATA_FILES[0].size // 2}-"]
    assert assets.verify(assets.DATA_FILES[:1], cache) == []


def test_checksum_mismatch_leaves_nothing_installed(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    bad = dataclasses.replace(assets.DATA_FILES[1], sha256="0" * 64)
    with pytest.raises(AssetError) as e:
        assets.fetch([bad], cache, mirror=url(server))
    msg = str(e.value)
    assert "triangles.npy" in msg and "0" * 64 in msg and assets.DATA_FILES[1].sha256 in msg
    assert list(cache.iterdir()) == []


def test_offline_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="offline"):
        assets.fetch(assets.DATA_FILES[1:2], tmp_path, mirror="http://127.0.0.1:9")


def test_from_local_folder_with_upstream_names(reference: Path, tmp_path: Path) -> None:
    assets.fetch(assets.DATA_FILES, tmp_path / "c", source_dir=reference / "upstream")
    assert assets.verify(assets.DATA_FILES, tmp_path / "c") == []
    with pytest.raises(AssetError, match="not found"):
        assets.fetch([assets.CHECKPOINT], tmp_path / "c", source_dir=reference / "upstream")


def test_checkpoint_without_link_explains_the_manual_step(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match=r"drive\.google\.com"):
        assets.fetch([assets.CHECKPOINT], tmp_path)
    problems = assets.verify(cache=tmp_path)
    assert len(problems) == len(assets.MANIFEST) and "does not exist" in problems[0]


def test_pickle_with_foreign_classes_is_refused(tmp_path: Path) -> None:
    import collections
    import pickle

    evil = tmp_path / "arkit_subsample.pkl"
    evil.write_bytes(pickle.dumps({"1220_to_305": collections.Counter()}))
    asset = dataclasses.replace(
        assets.DATA_FILES[0], size=evil.stat().st_size, sha256=assets.sha256_of(evil)
    )
    with pytest.raises(AssetError, match=r"refusing to load collections\.Counter"):
        assets.fetch([asset], tmp_path / "c", source_dir=tmp_path)


class DriveLikeHandler(Handler):
    """Answers the first request with a Google-Drive-style confirmation form."""

    def do_GET(self) -> None:
        if self.path.startswith("/uc"):
            page = (
                b'<html><body><form id="download-form" action="/download" method="get">'
                b'<input type="hidden" name="id" value="abc">'
                b'<input type="hidden" name="export" value="download">'
                b'<input type="hidden" name="confirm" value="t">'
                b'<input type="hidden" name="uuid" value="1234"></form></body></html>'
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        assert "confirm=t" in self.path and "uuid=1234" in self.path, self.path
        self.path = "/triangles.npy"
        super().do_GET()


def test_large_file_confirmation_page_is_followed(server: Server, tmp_path: Path) -> None:
    srv = Server(("127.0.0.1", 0), DriveLikeHandler)
    srv.root, srv.truncate_next, srv.ranges_seen = server.root, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        asset = assets.DATA_FILES[1]
        link = f"{url(srv)}/uc?export=download&id=abc"
        assets.fetch([asset], tmp_path, urls={asset.name: link})
        assert assets.verify([asset], tmp_path) == []
    finally:
        srv.shutdown()
        srv.server_close()


def test_drive_share_link_becomes_a_download_link() -> None:
    from trg_ros.cli import drive_link

    assert drive_link("https://drive.google.com/file/d/1AbC-x_9/view?usp=sharing") == (
        "https://drive.google.com/uc?export=download&id=1AbC-x_9"
    )
    assert drive_link("https://example.org/w.bin") == "https://example.org/w.bin"
