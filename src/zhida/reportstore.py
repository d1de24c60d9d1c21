"""Firms' match reports, computed once per run and kept: in memory and on disk.

    reports = ReportStore(data_dir / "reports")
    (report, fields), computed = reports.get_or_compute(key, compute)

A report depends only on its inputs — the run (its date and profile snapshot), the published
policy versions, the profile batches visible on the date, the code that computes it — so
`report_key` names them all and a report is computed at most once for them: the first view of
a firm (or the warm-up after a run, `zhida.web.warm`) computes it; every later view, also after
a restart, reads it. A new run, a newly published version or a new batch is a new key, so a
re-match invalidates every report by construction; the directories of older runs are removed
when a report of a newer run is written.

On disk: `<root>/<run>/<key>.pickle`, written to a temporary file and renamed (a reader sees a
whole report or none). The directory is the server's own, like its database beside it; a file
that does not load (another version of the code wrote it) is computed again.

Concurrent requests for the same key wait for one computation instead of repeating it, also
across processes (a lock file beside the report: the server and its warm-up worker).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from zhida.matching.report import EnterpriseReport

Stored = tuple[EnterpriseReport, list[str]]   # the report and the fields it read (for the data use)
# what computes a report
_CODE = ("matching", "rules", "packs", "profiles", "catalog.py", "reportstore.py", "reports.py")


def code_version(package: Path = Path(__file__).parent, parts: Sequence[str] = _CODE) -> str:
    """A digest of the files that compute a report (names, sizes, modification times): a
    report kept by another version of the code (or of the zones, `package=zones_dir,
    parts=(".",)`) is not served."""
    h = hashlib.sha256()
    for part in parts:
        top = package / part
        files = sorted(top.rglob("*")) if top.is_dir() else [top] if top.exists() else []
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                st = f.stat()
                h.update(f"{f.relative_to(package)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def report_key(*, code: str, run: str, as_of: str, policies: Sequence[str], batches: Sequence[str], store: str,
               uscc: str) -> str:
    """The name of a report's inputs (SHA-256 of them, hex)."""
    doc = {"code": code, "run": run, "as_of": as_of, "policies": list(policies), "batches": list(batches),
           "store": store, "uscc": uscc}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class ReportStore:
    """Reports by key: the most recent `size` in memory, all of the latest run on disk (when
    `root` is given). Safe across threads and processes (one writer per key at a time)."""

    def __init__(self, root: Path | None = None, *, size: int = 5000) -> None:
        self.root = root
        self._size = size
        self._memory: OrderedDict[str, Stored] = OrderedDict()
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.computed = 0      # reports computed in this process (for tests and benchmarks)

    def _path(self, run: str, key: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / hashlib.sha256(run.encode()).hexdigest()[:16] / f"{key}.pickle"

    def get(self, run: str, key: str) -> Stored | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        path = self._path(run, key)
        if path is None or not path.exists():
            return None
        try:
            found = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError, TypeError, ValueError):
            return None   # unreadable, or written by other code: compute again
        if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], EnterpriseReport)):
            return None
        self._remember(key, found)
        return found

    def has(self, run: str, key: str) -> bool:
        with self._lock:
            if key in self._memory:
                return True
        path = self._path(run, key)
        return path is not None and path.exists()

    def get_or_compute(self, run: str, key: str, compute: Callable[[], Stored]) -> tuple[Stored, bool]:
        """The stored report, or `compute()`'s, kept; True when this call computed it. A caller
        that finds the same key being computed — by another thread, or by another process on
        the same directory — waits for that (and computes itself only if that failed)."""
        while True:
            found = self.get(run, key)
            if found is not None:
                return found, False
            with self._lock:
                running = self._running.get(key)
                if running is None:
                    self._running[key] = threading.Event()
            if running is not None:
                running.wait()
                continue
            try:
                with self._computing(run, key):
                    found = self.get(run, key)     # another process may have written it meanwhile
                    if found is not None:
                        return found, False
                    made = compute()
                    self.computed += 1
                    self._remember(key, made)
                    self._write(run, key, made)
                    return made, True
            finally:
                with self._lock:
                    self._running.pop(key).set()

    @contextmanager
    def _computing(self, run: str, key: str) -> Iterator[None]:
        """Hold the report's lock file (waiting while another process holds it)."""
        path = self._path(run, key)
        if path is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _remember(self, key: str, value: Stored) -> None:
        with self._lock:
            self._memory[key] = value
            self._memory.move_to_end(key)
            while len(self._memory) > self._size:
                self._memory.popitem(last=False)

    def _write(self, run: str, key: str, value: Stored) -> None:
        path = self._path(run, key)
        if path is None:
            return
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
        for other in path.parent.parent.iterdir():   # older runs' reports are never served again
            if other != path.parent and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
