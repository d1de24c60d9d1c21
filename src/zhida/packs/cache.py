"""Compiled policy packs cached on disk: a process gets a ready `CompiledPolicies` without
parsing, type-checking or compiling anything (decision 0006).

One file per key. The key covers the policies' content hashes (in order), the schema's
field definitions, the as-of date and the code that compiles (zhida's version and a hash of
this package's sources, Polars, Lark, Python), so a file is only ever read by code that
would have written the same thing. The newest `keep` files stay; older ones are deleted.

A file that is missing, truncated, corrupt or written by other code is a plain cache miss:
the pack is compiled as usual and the file rewritten. Nothing is unpickled before the
payload's SHA-256 matches the one in the file's header. The directory must be trusted like
the code itself (pickle runs what it reads): keep it private to the service. What an entry
holds is packstate.py's business.
"""

from __future__ import annotations

import gc
import hashlib
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import lark
import polars as pl
from pydantic import ValidationError

from zhida.packs.state import FORMAT, PackState, dumps, loads, restore, state_of
from zhida.rules.evaluate.engine import CompiledPolicies, compile_policies
from zhida.rules.lang.errors import PolicyError, Problem
from zhida.rules.lang.schema import Schema
from zhida.rules.model.document import PolicySpec
from zhida.rules.model.policy import Path_, Policy, content_hash, load_policies, parse_policy, policy_files

SUFFIX = ".zpack"
KEEP = 8  # a week of daily runs (the as-of date is part of the key) at ~15 MB each for 温州
_MAGIC = b"zhida-pack\n"
_HEAD = len(_MAGIC) + 64 + 64  # magic, key (hex), SHA-256 of the payload (hex)
_STALE_TMP_SECONDS = 3600

Item = Policy | Mapping[str, Any]


class PackCache:
    """A directory of compiled packs. Counts its hits and misses (for logs and tests)."""

    def __init__(self, directory: Path, keep: int = KEEP, *, freeze: bool = False) -> None:
        """`freeze`: after a hit, leave every object of the process frozen (gc.freeze), so no
        later collection rescans the pack's ~10^6 objects (a full one takes ~0.4 s); for
        entrypoints that keep the pack until they exit (a match run, the benchmark)."""
        self.directory = directory
        self.keep = max(1, keep)
        self.freeze = freeze
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load_or_compile(self, policies: Sequence[Item], schema: Schema, as_of: date, *,
                        sources: Sequence[str] | None = None,
                        lines: Sequence[Mapping[Path_, int]] | None = None) -> CompiledPolicies:
        """The compiled pack: read from the cache when this exact pack was compiled before,
        compiled (and stored) otherwise. Policy documents are validated but not parsed
        on a hit; any problem in them is raised as by `parse_policy`."""
        inputs = _Inputs(policies, sources, lines)
        specs = inputs.specs()

        def build() -> tuple[CompiledPolicies, PackState | None]:
            parsed = inputs.parse()
            compiled = compile_policies(parsed, schema, as_of)
            return compiled, state_of(parsed, compiled)

        return self._through(pack_key([h for _spec, h in specs], schema, as_of), lambda state: restore(
            state, inputs.items, specs, inputs.sources, inputs.lines, schema, as_of), build)

    def load_or_compile_files(self, paths: Iterable[Path], schema: Schema, as_of: date) -> CompiledPolicies:
        """The pack of the policy files under `paths` (as `load_policies` reads them), keyed
        by the files' names and bytes: a hit reads the bytes and parses no YAML at all (the
        round-trip YAML loader alone takes ~5 s for the benchmark pack)."""
        files = policy_files(paths)
        digests = _digests(files)
        if digests is None:  # an unreadable file: loading reports it
            return compile_policies(load_policies(files), schema, as_of)

        def from_state(state: PackState) -> CompiledPolicies | None:
            if state.documents is None:
                return None
            return restore(state, [None] * len(files), [(spec, digest) for spec, digest, _ in state.documents],
                           [str(f) for f in files], [lines for _, _, lines in state.documents], schema, as_of)

        def build() -> tuple[CompiledPolicies, PackState | None]:
            parsed = load_policies(files)
            compiled = compile_policies(parsed, schema, as_of)
            unchanged = _digests(files) == digests  # a file changed while it was loaded: do not store
            return compiled, state_of(parsed, compiled, documents=True) if unchanged else None

        key = pack_key(["files", *(f"{f}\0{d}" for f, d in zip(files, digests, strict=True))], schema, as_of)
        return self._through(key, from_state, build)

    def _through(self, key: str, from_state: Callable[[PackState], CompiledPolicies | None],
                 build: Callable[[], tuple[CompiledPolicies, PackState | None]]) -> CompiledPolicies:
        """The entry's pack if it can be read and fits, else a fresh one (stored if it has a state)."""
        path = self.path(key)
        with _gc_paused() as pause:
            state = _read(path, key)
            restored = None if state is None else from_state(state)
            pause.loaded, pause.freeze = restored is not None, self.freeze
        if restored is not None:
            self.hits += 1
            _touch(path)
            return restored
        self.misses += 1
        with _gc_paused():
            compiled, fresh = build()
        if fresh is not None:
            self._write(key, fresh)
        return compiled

    def _write(self, key: str, state: PackState) -> None:
        """Write atomically (a temporary file renamed over the entry), then prune. A cache
        that cannot be written (read-only disk, full disk) only costs the next process time."""
        tmp = self.directory / f".{key}.{secrets.token_hex(6)}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            payload = dumps(state)
            with tmp.open("wb") as f:
                f.write(_MAGIC + key.encode() + hashlib.sha256(payload).hexdigest().encode())
                f.write(payload)
            tmp.replace(self.path(key))
        except Exception:  # any failure to store only loses the entry
            with suppress(OSError):
                tmp.unlink(missing_ok=True)
            return
        self.prune()

    def prune(self) -> None:
        """Keep the `keep` most recently used entries; delete leftovers of crashed writers."""
        entries = []
        now = time.time()
        for p in self.directory.glob(f"*{SUFFIX}"):
            try:
                entries.append((p.stat().st_mtime, p))
            except OSError:
                continue
        entries.sort(reverse=True)
        stale = [p for _mtime, p in entries[self.keep:]]
        for p in self.directory.glob(".*.tmp"):
            with suppress(OSError):
                if now - p.stat().st_mtime > _STALE_TMP_SECONDS:
                    stale.append(p)
        for p in stale:
            with suppress(OSError):
                p.unlink(missing_ok=True)


def load_or_compile(policies: Sequence[Item], schema: Schema, as_of: date, cache_dir: Path | None, *,
                    sources: Sequence[str] | None = None,
                    lines: Sequence[Mapping[Path_, int]] | None = None, keep: int = KEEP,
                    freeze: bool = False) -> CompiledPolicies:
    """Policies (parsed, or documents as loaded from YAML/JSON) → a compiled pack, through
    the cache in `cache_dir` (None: no cache, compile every time). See `PackCache`."""
    if cache_dir is None:
        with _gc_paused():
            return compile_policies(_Inputs(policies, sources, lines).parse(), schema, as_of)
    return PackCache(cache_dir, keep, freeze=freeze).load_or_compile(policies, schema, as_of, sources=sources,
                                                                    lines=lines)


def load_or_compile_files(paths: Iterable[Path], schema: Schema, as_of: date, cache_dir: Path | None, *,
                          keep: int = KEEP, freeze: bool = False) -> CompiledPolicies:
    """The policy files under `paths` → a compiled pack, through the cache in `cache_dir`
    (None: load and compile every time). See `PackCache.load_or_compile_files`."""
    if cache_dir is None:
        with _gc_paused():
            return compile_policies(load_policies(paths), schema, as_of)
    return PackCache(cache_dir, keep, freeze=freeze).load_or_compile_files(paths, schema, as_of)


def pack_key(content_hashes: Sequence[str], schema: Schema, as_of: date) -> str:
    h = hashlib.sha256()
    for part in (str(FORMAT), code_version(), schema_fingerprint(schema), as_of.isoformat(), *content_hashes):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def schema_fingerprint(schema: Schema) -> str:
    """A hash of the schema's definitions. Field order is kept (a label resolves to the first
    field that has it); sets are sorted (their order differs between processes)."""
    canonical = repr((list(schema.fields.items()), list(schema.lists.items()), sorted(schema.tags),
                      sorted(schema.zones), schema.region_field, schema.location_fields))
    return hashlib.sha256(canonical.encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """zhida's version, a hash of the rules' and the cache's sources (a development checkout changes
    without a version bump), and the versions of Polars (serialized expressions), Lark and
    Python."""
    h = hashlib.sha256()
    for package in ("zhida.rules", "zhida.packs"):
        root = Path(str(resources.files(package)))
        for entry in sorted(root.rglob("*")):
            if entry.suffix in (".py", ".lark") and "__pycache__" not in entry.parts:
                h.update(f"{package}/{entry.relative_to(root).as_posix()}".encode() + b"\0" + entry.read_bytes())
    try:
        zhida = metadata.version("zhida")
    except metadata.PackageNotFoundError:
        zhida = "unknown"
    python = ".".join(map(str, sys.version_info[:3]))
    return f"zhida {zhida} rules {h.hexdigest()[:16]} polars {pl.__version__} lark {lark.__version__} py {python}"


class _Inputs:
    """The caller's policies: parsed ones as given, documents validated (cheap) or parsed."""

    def __init__(self, items: Sequence[Item], sources: Sequence[str] | None,
                 lines: Sequence[Mapping[Path_, int]] | None) -> None:
        self.items = list(items)
        self.sources = list(sources) if sources is not None else ["<policy>"] * len(self.items)
        self.lines = list(lines) if lines is not None else [{} for _ in self.items]
        if len(self.sources) != len(self.items) or len(self.lines) != len(self.items):
            raise ValueError("sources and lines need one entry per policy")

    def specs(self) -> list[tuple[PolicySpec, str]]:
        """Each policy's validated document and content hash, without parsing expressions.
        An invalid document raises PolicyError with every problem of every document."""
        out = []
        for item in self.items:
            if isinstance(item, Policy):
                out.append((item.spec, item.content_hash))
                continue
            try:
                spec = PolicySpec.model_validate(dict(item))
            except ValidationError:
                self.parse()  # reports the problems of all documents
                raise
            out.append((spec, content_hash(spec)))
        return out

    def parse(self) -> list[Policy]:
        """Every policy parsed; the problems of all documents are raised together."""
        out: list[Policy] = []
        problems: list[Problem] = []
        for item, source, lines in zip(self.items, self.sources, self.lines, strict=True):
            if isinstance(item, Policy):
                out.append(item)
                continue
            try:
                out.append(parse_policy(item, source, lines))
            except PolicyError as e:
                problems.extend(e.problems)
        if problems:
            raise PolicyError(problems)
        return out


def _read(path: Path, key: str) -> PackState | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if (len(data) < _HEAD or not data.startswith(_MAGIC)
            or data[len(_MAGIC):len(_MAGIC) + 64] != key.encode()):
        return None
    payload = memoryview(data)[_HEAD:]
    if hashlib.sha256(payload).hexdigest().encode() != data[len(_MAGIC) + 64:_HEAD]:
        return None
    return loads(payload)


def _digests(files: Sequence[Path]) -> list[str] | None:
    try:
        return [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    except OSError:
        return None


@dataclass
class _Pause:
    loaded: bool = False  # set when the objects created are to stay (a pack was loaded)
    freeze: bool = False


@contextmanager
def _gc_paused() -> Iterator[_Pause]:
    """Run without the cyclic garbage collector. Loading or compiling a pack creates ~10^6
    objects and no garbage; with the collector on, every collection rescans them (loading
    takes 3× longer, compiling 1.6×).

    After a load, the objects are moved to the oldest generation (gc.freeze then
    gc.unfreeze; skipped if the process froze objects itself), so the young collections
    that follow do not scan them two more times; only full collections do, as for any old
    object. With `freeze`, they stay frozen: no collection scans them again."""
    enabled = gc.isenabled()
    gc.disable()
    pause = _Pause()
    try:
        yield pause
    finally:
        if pause.loaded and (pause.freeze or gc.get_freeze_count() == 0):
            gc.freeze()
            if not pause.freeze:
                gc.unfreeze()
        if enabled:
            gc.enable()


def _touch(path: Path) -> None:
    """Mark an entry as recently used (pruning keeps the most recently used)."""
    with suppress(OSError):
        path.touch()
