"""Fetching, trusting and unpacking the files models need.

Models declare their files with :class:`Asset` and :class:`Member` (:mod:`.spec`); this
package fetches (:mod:`.download`, :mod:`.drive`), checks (:mod:`.trust`) and installs them
(:mod:`.store`, :mod:`.unpack`) through those declarations and never imports a model.
"""

from __future__ import annotations

from trg_ros.core.assets.download import Progress
from trg_ros.core.assets.drive import DriveFile
from trg_ros.core.assets.spec import Asset, Derivation, Member, Packed
from trg_ros.core.assets.store import INCOMING, cache_dir, check_file, fetch, remedy, verify
from trg_ros.core.assets.trust import sha256_of

__all__ = [
    "INCOMING",
    "Asset",
    "Derivation",
    "DriveFile",
    "Member",
    "Packed",
    "Progress",
    "cache_dir",
    "check_file",
    "fetch",
    "remedy",
    "sha256_of",
    "verify",
]
