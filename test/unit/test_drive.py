"""The official Drive folders: picking a file from a listing, and gdown against a fake Drive.

Listings are plain data shaped like ``gdown.download_folder(..., skip_download=True)``'s
``(id, path, local_path)`` entries. The fake Drive (fake_drive.py) serves the listing pages,
the large-file confirmation form and the quota page on 127.0.0.1 through an HTTPS proxy.
"""

from __future__ import annotations

import collections
import json
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_drive import QUOTA, FakeDrive, go_offline, serve

from trg_ros.core import assets
from trg_ros.core.assets import DriveFile, drive, trust
from trg_ros.core.errors import AssetError, TRGError
from trg_ros.core.model.files import (
    CHECKPOINTS,
    DATA_FILES,
    EVAL_FOLDER_URL,
    TRG_FOLDER_URL,
    TRG_STAR_FOLDER_URL,
)
from trg_ros.tools.evaluate import BIWI_ANNOTATION, biwi_annotation, read_annotation

REPO = Path(__file__).resolve().parents[2]
STAR = CHECKPOINTS["trg-star"]
SINGLE = CHECKPOINTS["trg"]
VERTICES = DATA_FILES[0].derived_names()[0]


def entry(path: str) -> tuple[str, str, str]:
    """One listing entry as gdown gives it: (id, path, local_path)."""
    return (f"id-{path}", path, f"/tmp/out/{path}")


def pick(paths: list[str], asset: assets.Asset = STAR) -> str:
    assert asset.drive is not None
    return drive.select([entry(p) for p in paths], asset.drive, asset.how_to_get)[1]


@pytest.mark.parametrize(
    "path", ["checkpoint-30/state_dict.bin", "trg_240717/checkpoint-30/state_dict.bin"]
)
def test_the_checkpoint_is_found_at_any_depth(path: str) -> None:
    listing = ["README.txt", "trg_240717/args.json", path]
    assert pick(listing) == path


def test_checkpoint_30_is_taken_among_several() -> None:
    listing = [f"trg_240717/checkpoint-{n}/state_dict.bin" for n in (10, 20, 300, 30, 3)]
    assert pick(listing) == "trg_240717/checkpoint-30/state_dict.bin"


def test_both_models_in_one_listing_pick_their_run_folder() -> None:
    listing = [
        "checkpoint/trg_single_240717/checkpoint-30/state_dict.bin",
        "checkpoint/trg_240717/checkpoint-30/state_dict.bin",
    ]
    assert pick(listing, STAR) == listing[1]
    assert pick(listing, SINGLE) == listing[0]


def test_a_missing_file_prints_the_listing() -> None:
    listing = ["trg_240717/checkpoint-20/state_dict.bin", "trg_240717/checkpoint-30/model.bin"]
    with pytest.raises(AssetError) as e:
        pick(listing)
    msg = str(e.value)
    assert "checkpoint-30/state_dict.bin is not in the listing" in msg
    assert all(f"  {p}  (id id-{p})" in msg for p in listing), msg
    assert TRG_STAR_FOLDER_URL in msg and "--from" in msg


def test_two_candidates_are_an_error_that_prints_the_listing() -> None:
    listing = ["a/checkpoint-30/state_dict.bin", "b/checkpoint-30/state_dict.bin"]
    with pytest.raises(AssetError, match=r"is ambiguous \(2 matches\)") as e:
        pick(listing)
    assert all(p in str(e.value) for p in listing)


def test_no_parent_means_any_folder() -> None:
    target = DriveFile("https://drive.google.com/drive/folders/x", "annot_mtcnn_fan.pkl")
    listing = [entry("ARKitFace/flip_index.npy"), entry("BIWI/annot_mtcnn_fan.pkl")]
    assert drive.select(listing, target, "by hand")[1] == "BIWI/annot_mtcnn_fan.pkl"


def test_gdown_is_imported_only_to_fetch() -> None:
    code = "import sys, trg_ros.cli, trg_ros.core.assets; print('gdown' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "False", done.stdout + done.stderr


# --- gdown against a fake Drive -------------------------------------------------------------
@pytest.fixture
def fake(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Iterator[FakeDrive]:
    yield from serve(tmp_path_factory.mktemp("tls"), monkeypatch)


def cache_with_vertices(folder: Path, model_dir: Path) -> Path:
    folder.mkdir()
    shutil.copy(model_dir / VERTICES, folder)
    return folder


def trg_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "assets", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_fetches_the_checkpoint_from_its_drive_folder(
    fake: FakeDrive, model_dir: Path, tmp_path: Path
) -> None:
    """The whole route: list, pick checkpoint-30, pass the confirmation page, check, record."""
    weights = model_dir / "state_dict.bin"  # random TRG weights: not the manifest's hash
    ids = fake.add_folder(
        TRG_STAR_FOLDER_URL,
        "TRG*",
        {
            "trg_240717": {
                "checkpoint-10": {"state_dict.bin": b"an older checkpoint"},
                "checkpoint-30": {"state_dict.bin": weights, "args.json": b"{}"},
            }
        },
    )
    cache = cache_with_vertices(tmp_path / "cache", model_dir)
    done = trg_cli("fetch", "--only", "weights", "--cache", str(cache))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "does not match a trusted record" in done.stderr
    assert "passed the check and is kept" in done.stderr
    assert "state_dict.bin: 100%" in done.stderr  # our progress bar
    file_id = ids["trg_240717/checkpoint-30/state_dict.bin"]
    asked = [r.split("?")[0] for r in fake.requests]
    assert asked.count("drive.google.com/embeddedfolderview") == 4  # root, run, 2 checkpoints
    assert f"drive.google.com/uc?id={file_id}" in fake.requests
    assert any(r.startswith("drive.usercontent.google.com/download") for r in fake.requests)
    digest = trust.sha256_of(weights)
    assert trust.sha256_of(cache / "state_dict.bin") == digest
    record = json.loads((cache / trust.RECORD_FILE).read_text())["state_dict.bin"]
    assert record["sha256"] == digest and record["manifest"]["sha256"] == STAR.sha256
    assert not list((cache / assets.INCOMING).iterdir())

    verified = trg_cli("verify", "--only", "weights", "--cache", str(cache))
    assert verified.returncode == 0 and "are valid" in verified.stdout, verified.stdout
    before = len(fake.requests)
    again = trg_cli("fetch", "--only", "weights", "--cache", str(cache))
    assert again.returncode == 0 and len(fake.requests) == before, again.stderr[-2000:]


def test_quota_error_passes_drive_reason_on_and_keeps_the_partial(
    fake: FakeDrive, model_dir: Path, tmp_path: Path
) -> None:
    ids = fake.add_folder(
        TRG_FOLDER_URL,
        "TRG",
        {"trg_single_240717": {"checkpoint-30": {"state_dict.bin": b"x" * 100}}},
    )
    fake.over_quota.add(ids["trg_single_240717/checkpoint-30/state_dict.bin"])
    cache = cache_with_vertices(tmp_path / "cache", model_dir)
    partial = cache / assets.INCOMING / f"{SINGLE.name}abcd1234.part"
    partial.parent.mkdir()
    partial.write_bytes(b"y" * 40)  # left by an earlier, interrupted run
    with pytest.raises(AssetError) as e:
        assets.fetch([SINGLE], cache)
    msg = " ".join(str(e.value).split())
    assert QUOTA in msg and "try again later" in msg, msg
    assert f"40 bytes are kept in {partial}" in msg
    assert partial.read_bytes() == b"y" * 40
    assert not (cache / SINGLE.name).exists()


def test_offline_says_what_was_tried_and_the_way_by_hand(
    monkeypatch: pytest.MonkeyPatch, model_dir: Path, tmp_path: Path
) -> None:
    go_offline(monkeypatch)
    cache = cache_with_vertices(tmp_path / "cache", model_dir)
    done = trg_cli("fetch", "--only", "weights", "--checkpoint", "trg", "--cache", str(cache))
    assert done.returncode == 1
    err = " ".join(done.stderr.split())
    assert f"listing {TRG_FOLDER_URL}" in err and "are you offline?" in err, err
    assert "--checkpoint trg --from <its folder>" in err


def test_share_link_goes_through_gdown(fake: FakeDrive, tmp_path: Path, reference: Path) -> None:
    ids = fake.add_folder(
        "https://drive.google.com/drive/folders/private",
        "a user's folder",
        {"triangles.npy": reference / "upstream/data__triangles.npy"},
    )
    asset = DATA_FILES[1]
    link = f"https://drive.google.com/file/d/{ids['triangles.npy']}/view?usp=sharing"
    folder = "https://drive.google.com/drive/folders/private"
    hosted = assets.Asset(
        asset.name, None, asset.size, asset.sha256, drive=DriveFile(folder, asset.name)
    )
    assets.fetch([hosted], tmp_path, urls={asset.name: link})
    assert assets.verify([asset], tmp_path) == []


def biwi_tree(annotation: object) -> dict:
    return {
        "ARKitFace": {"flip_index.npy": b"\x93NUMPY"},
        "BIWI": {"annot_mtcnn_fan.pkl": pickle.dumps(annotation)},
        "300W_LP": {"files.txt": b"a\nb\n"},
    }


def test_biwi_annotation_is_fetched_and_recorded(fake: FakeDrive, tmp_path: Path) -> None:
    ann = {"img_path": ["01/frame_00003_rgb.png"], "pred_kpt": {}, "mesh": {"01": {}}}
    fake.add_folder(EVAL_FOLDER_URL, "extras", biwi_tree(ann))
    hpdb, cache = tmp_path / "hpdb", tmp_path / "cache"
    hpdb.mkdir()
    path = biwi_annotation(hpdb, cache)
    assert path == cache / BIWI_ANNOTATION.name
    assert read_annotation(path)["img_path"] == ann["img_path"]
    assert assets.verify([BIWI_ANNOTATION], cache) == []
    (hpdb / BIWI_ANNOTATION.name).write_bytes(b"local copy")
    assert biwi_annotation(hpdb, cache) == hpdb / BIWI_ANNOTATION.name  # the dataset's own


def test_biwi_annotation_with_foreign_classes_is_refused(fake: FakeDrive, tmp_path: Path) -> None:
    evil = {"img_path": [], "pred_kpt": {}, "mesh": collections.Counter()}
    fake.add_folder(EVAL_FOLDER_URL, "extras", biwi_tree(evil))
    (tmp_path / "hpdb").mkdir()
    with pytest.raises(TRGError, match=r"refusing to load collections\.Counter"):
        biwi_annotation(tmp_path / "hpdb", tmp_path / "cache")
    left = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert left == [], left
