#!/usr/bin/env python3
"""Remove Fast DDS shared-memory files that no live process holds.

A process that is killed (SIGKILL, a crash) leaves its segment in /dev/shm, and tmpfs keeps it in
RAM until reboot. A live participant holds an flock on ``<segment>_el``; a free lock means the
owner is gone. (Real ROS 2 installs have ``fastdds shm clean`` for the same job.)
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path


def stale(shm: Path = Path("/dev/shm")) -> set[Path]:
    """Segments (by their base file) whose owner is gone."""
    found = set()
    for lock in shm.glob("fastdds_*_el"):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: the owner is alive
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        found.add(lock.with_name(lock.name[: -len("_el")]))
    return found


def clean(shm: Path = Path("/dev/shm")) -> int:
    freed = 0
    for base in stale(shm):
        lock = base.with_name(base.name + "_el")
        for f in (base, lock, shm / f"sem.{base.name}_mutex"):
            if f.exists():
                freed += f.stat().st_size
                f.unlink()
    return freed


if __name__ == "__main__":
    n = clean()
    if n:
        print(f"[trg_ros] removed {n / 2**20:.1f} MiB of stale Fast DDS shared memory")
    sys.exit(0)
