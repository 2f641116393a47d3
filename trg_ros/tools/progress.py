"""A terminal progress bar for asset downloads."""

from __future__ import annotations

from typing import Any

from trg_ros.core.assets import Asset, Progress


def download_bar(asset: Asset) -> Progress:
    """A tqdm bar for one file, shown once bytes arrive (not while a folder is listed); the
    total comes from the server when the manifest has none."""
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total or asset.size, unit="B", unit_scale=True, desc=asset.name)
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    return update
