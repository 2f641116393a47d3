"""Where TRG's CPU runtime decision and its exported ONNX graph are kept between starts.

Exporting TRG to ONNX (1.2 s, plus 0.7 s to import ``onnx``) and timing both runtimes take
seconds; both depend only on what this key names, so they are done once and kept in
``$TRG_ROS_HOME/trg_runtime/`` (:func:`trg_ros.core.assets.cache_dir`; the folder of the
weights may be read-only):

- ``graphs/<id>.onnx`` (and ``<id>.json``: what it was made from, its size and what it
  answered to a fixed input right after the export): TRG exported from one checkpoint by one
  torch and onnx, with one version of the network's code (150 MB for the official
  checkpoint). A new one replaces those of the same checkpoint made by other versions.
- ``decisions/<id>.json``: the runtime ``auto`` chose and the measurement behind it, for one
  graph, onnxruntime version, CPU model and thread count.
- ``digests.json``: each checkpoint file's SHA-256 with the size, mtime and inode it was
  computed at, so a start costs a ``stat`` instead of hashing 150 MB (0.16 s).
- ``lock``: held while one process exports and measures, so nodes started together measure
  once, and not while another one measures.

Files are written to a temporary name and renamed, so a reader never sees half a file. The
decision logic itself is :mod:`trg_ros.core.model.runtime`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import platform
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trg_ros.core.assets import cache_dir, sha256_of

log = logging.getLogger(__name__)

FOLDER = "trg_runtime"
FORMAT = 1  # of the files below; a new format makes every old entry stale


def cpu_model() -> str:
    """The CPU's model name and a digest of its feature flags (both change the kernels the
    runtimes pick)."""
    name, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            field, _, value = line.partition(":")
            if field.strip() == "model name" and not flags:
                name = value.strip()
            elif field.strip() in ("flags", "Features"):
                flags = value.strip()
                break
    except OSError:  # not Linux: the name alone
        pass
    return f"{name} [{hashlib.sha256(flags.encode()).hexdigest()[:12]}]"


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RuntimeKey:
    """Everything TRG's CPU runtime decision depends on.

    Attributes:
        weights: digest of the weights the graph holds (checkpoint content and the vertex
            subset baked into the network).
        code: digest of the source that defines the exported graph.
        torch, onnx, onnxruntime: package versions.
        cpu: :func:`cpu_model`.
        threads: CPU threads both runtimes use.
    """

    weights: str
    code: str
    torch: str
    onnx: str
    onnxruntime: str
    cpu: str
    threads: int

    GRAPH_FIELDS = ("weights", "code", "torch", "onnx")

    def fields(self) -> dict[str, Any]:
        return {"format": FORMAT, **dataclasses.asdict(self)}

    def graph_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.fields().items() if k == "format" or k in self.GRAPH_FIELDS}

    @property
    def graph_id(self) -> str:
        """Names the exported graph: what the export depends on, no more."""
        return _digest(self.graph_fields())

    @property
    def decision_id(self) -> str:
        """Names the decision: every field."""
        return _digest(self.fields())


class RuntimeCache:
    """The files of ``<root>/trg_runtime`` (root: the asset cache by default).

    A folder that cannot be written is used for reading only: every write is skipped and one
    warning says so, so the caller measures in memory and the node still starts.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.folder = cache_dir(root) / FOLDER
        self.writable = True

    # --- reading -----------------------------------------------------------------------
    def read_decision(self, key: RuntimeKey, quiet: bool = False) -> dict[str, Any] | None:
        """The stored decision for ``key``, or None (absent; corrupt or stale: logged unless
        ``quiet``)."""
        path = self.folder / "decisions" / f"{key.decision_id}.json"
        entry = self._read_json(path, quiet)
        if entry is None:
            return None
        if entry.get("key") != key.fields() or not isinstance(entry.get("decision"), dict):
            if not quiet:
                made_for = entry.get("key")
                log.warning(
                    "stale TRG runtime decision %s (made for %s): measuring again", path, made_for
                )
            return None
        return entry["decision"]

    def graph(self, key: RuntimeKey) -> tuple[Path, list[Any]] | None:
        """The stored graph for ``key`` and the outputs it gave when it was exported, or None
        (absent; stale or damaged: logged)."""
        path = self.folder / "graphs" / f"{key.graph_id}.onnx"
        meta = self._read_json(path.with_suffix(".json"))
        if meta is None:
            return None
        size = path.stat().st_size if path.is_file() else -1
        problem = ""
        if meta.get("key") != key.graph_fields():
            problem = f"made for {meta.get('key')}"
        elif meta.get("size") != size:
            problem = f"{size} bytes, {meta.get('size')} recorded"
        elif not isinstance(meta.get("outputs"), list):
            problem = "no outputs recorded"
        if problem:
            log.warning("stale or damaged TRG graph %s (%s): exporting again", path, problem)
            return None
        return path, meta["outputs"]

    def file_digest(self, path: Path) -> str:
        """SHA-256 of a file, remembered with its size, mtime and inode (``digests.json``):
        hashed again only when one of those changed."""
        st = path.stat()
        seen = (st.st_size, st.st_mtime_ns, st.st_ino)
        name = str(path.resolve())
        digests = self._read_json(self.folder / "digests.json", quiet=True) or {}
        known = digests.get(name)
        if isinstance(known, dict) and known.get("stat") == list(seen):
            return str(known.get("sha256"))
        digest = sha256_of(path)
        digests[name] = {"stat": list(seen), "sha256": digest}
        self._write(self.folder / "digests.json", lambda p: p.write_text(json.dumps(digests)))
        return digest

    # --- writing -----------------------------------------------------------------------
    def store_decision(self, key: RuntimeKey, decision: dict[str, Any]) -> None:
        path = self.folder / "decisions" / f"{key.decision_id}.json"
        entry = {"key": key.fields(), "decision": decision}
        self._write(path, lambda p: p.write_text(json.dumps(entry, indent=1)))

    def store_graph(self, key: RuntimeKey, export: Callable[[Path], None]) -> Path | None:
        """Export the graph into the cache; None when the folder cannot be written (the
        caller then exports to a temporary file). It counts as stored once :meth:`seal_graph`
        has recorded its outputs."""
        path = self.folder / "graphs" / f"{key.graph_id}.onnx"
        return path if self._write(path, export) else None

    def seal_graph(self, key: RuntimeKey, outputs: list[Any]) -> None:
        """Record what the stored graph gives for the check input (read back by
        :meth:`graph`), and remove the graphs of the same weights made by other versions
        (each is as large as the checkpoint)."""
        path = self.folder / "graphs" / f"{key.graph_id}.onnx"
        meta = {"key": key.graph_fields(), "size": path.stat().st_size, "outputs": outputs}
        self._write(path.with_suffix(".json"), lambda p: p.write_text(json.dumps(meta)))
        for other in path.parent.glob("*.json"):
            made_for = (self._read_json(other, quiet=True) or {}).get("key")
            same_weights = isinstance(made_for, dict) and made_for.get("weights") == key.weights
            if other != path.with_suffix(".json") and same_weights:
                log.info("removing %s: made by other versions", other.with_suffix(".onnx"))
                other.with_suffix(".onnx").unlink(missing_ok=True)
                other.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held while exporting and measuring: a second process waits, then finds the result.
        Without a writable folder there is nothing to share and nothing is locked."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = (self.folder / "lock").open("a")
        except OSError as e:
            self._read_only(e)
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- helpers -----------------------------------------------------------------------
    def _read_json(self, path: Path, quiet: bool = False) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            if not quiet:
                log.warning("corrupt TRG runtime cache file %s (%s): making it again", path, e)
            return None
        if not isinstance(data, dict):
            if not quiet:
                log.warning("corrupt TRG runtime cache file %s: making it again", path)
            return None
        return data

    def _write(self, path: Path, write: Callable[[Path], None]) -> bool:
        """``write`` to a temporary file beside ``path``, then rename it over ``path``;
        False when the folder cannot be written."""
        if not self.writable:
            return False
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # umask applies
        except OSError as e:
            self._read_only(e)
            return False
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _read_only(self, error: OSError) -> None:
        if self.writable:
            log.warning(
                "TRG runtime cache %s cannot be written (%s): TRG's CPU runtime is measured in "
                "memory at every start; set TRG_ROS_HOME to a writable folder to keep it",
                self.folder,
                error.strerror or error,
            )
        self.writable = False
