"""A terminal progress bar for asset downloads."""

from __future__ import annotations

from trg_ros.core.assets import Asset
from trg_ros.core.download import Progress


def download_bar(asset: Asset) -> Progress:
    """A tqdm bar for one file; the total comes from the server when the manifest has none."""
    from tqdm import tqdm

    bar = tqdm(total=asset.size, unit="B", unit_scale=True, desc=asset.name, leave=True)

    def update(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    return update
