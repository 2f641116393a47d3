"""The files TRG needs, declared for the assets code: the official data files (pinned to an
upstream commit) and the official checkpoints (found in their Google Drive folders).

The default checkpoint's size and hash come from a third-party record; the ARKitFace-only one
has none. A first download that differs (or has no record) is kept only when TRG's strict
load accepts it (:func:`checkpoint_fits`), and its size and hash are then recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from trg_ros.core.assets import Asset, DriveFile

UPSTREAM_COMMIT = "7cb6bb5e072c751d83d10755908ce27159ac7ac1"
_RAW = f"https://raw.githubusercontent.com/asw91666/TRG-Release/{UPSTREAM_COMMIT}"
# The official Drive folders (docs/download.md of the TRG repository at UPSTREAM_COMMIT).
TRG_STAR_FOLDER_URL = "https://drive.google.com/drive/folders/1eymumNT307y7nyvMsZD0wuSPtmEkYyWv"
TRG_FOLDER_URL = "https://drive.google.com/drive/folders/1CQeB4W2KbNVpzx4FZfuyMVgljlOvtpwU"
EVAL_FOLDER_URL = "https://drive.google.com/drive/folders/1Qdj62asVBpj-cGM2mnymD1bqNEBhf6RZ"


def _upstream(path: str, size: int, sha256: str, npy_keys: tuple[str, ...] = ()) -> Asset:
    """A data file of the TRG repository at UPSTREAM_COMMIT; a ``--from`` folder may hold it
    under its repository path (``data/x``, or ``data__x`` as the parity fixture names it)."""
    return Asset(
        Path(path).name,
        f"{_RAW}/{path}",
        size,
        sha256,
        npy_keys=npy_keys,
        local_names=(path, path.replace("/", "__")),
    )


DATA_FILES = (
    _upstream(
        "data/arkit_subsample.pkl",
        103_444,
        "7f6666f5750db08f9f88ad8887a4a36b943c9f65a7411183fbc6eaab8a431590",
        npy_keys=("1220_to_305",),
    ),
    _upstream(
        "data/triangles.npy",
        13_952,
        "b3d5a58d24d1f9f6cdc3f859378b3a3524b248733a251cebb36e124ef2bfcdf4",
    ),
    _upstream(
        "npy/kpt_ind.npy",
        672,
        "2740e6874c0e1a106b3ea3f0d4a7f0b5018cd98e653877a80818ab1c791ceeab",
    ),
)
SAMPLED_VERTICES = DATA_FILES[0].npy_names()[0]  # the 305 vertices TRG samples (1220_to_305)
TRIANGLES = DATA_FILES[1].name
LANDMARK_VERTICES = DATA_FILES[2].name


def checkpoint_fits(path: Path, cache: Path) -> None:
    """TRG's strict load: the official keys, every tensor's shape, finite values."""
    from trg_ros.core.model.checkpoint import load_trg

    load_trg(path, cache / SAMPLED_VERTICES)


def _checkpoint(key: str, label: str, name: str, folder_url: str, run: str, **record) -> Asset:
    flag = "" if key == "trg-star" else f" --checkpoint {key}"
    where = DriveFile(folder_url, "state_dict.bin", "checkpoint-30", run)
    return Asset(
        name,
        None,
        drive=where,
        how_to_get=(
            f"download {where.where()} of '{label}' from {folder_url} in a browser, then run "
            f"`trg-ros assets fetch --only weights{flag} --from <its folder>`"
        ),
        command=f"trg-ros assets fetch --only weights{flag}",
        content_check=checkpoint_fits,
        needs=(SAMPLED_VERTICES,),
        **record,
    )


CHECKPOINTS = {
    "trg-star": _checkpoint(
        "trg-star",
        "TRG* (ARKitFace+300W-LP)",
        "state_dict.bin",
        TRG_STAR_FOLDER_URL,
        "trg_240717",
        size=150_684_140,
        sha256="75d745e5a0fe96f170cdce61ded64f080dfcbf45d3514a60db8f097fc758c77b",
    ),
    "trg": _checkpoint(
        "trg",
        "TRG (ARKitFace)",
        "trg_single_state_dict.bin",
        TRG_FOLDER_URL,
        "trg_single_240717",
        size=None,
        sha256=None,
    ),
}
CHECKPOINT = CHECKPOINTS["trg-star"]


class TRGFiles(Protocol):
    """Where TRG's files are (:class:`trg_ros.core.catalogue.ModelFiles` is one)."""

    weights: Path
    sampled_vertices: Path
    triangles: Path
    landmark_vertices: Path

    def check(self) -> None:
        """Raise an AssetError that says how to get whatever file is missing."""
        ...
