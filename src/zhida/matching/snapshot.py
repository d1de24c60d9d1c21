"""A profile snapshot: exactly the committed batches a run read, so it can be read again.

The profile store is append-only (decision 0003): a batch never changes once committed, so
the ids of the batches visible on `as_of` pin the profile data. `SnapshotStore` is a read-only
view of a store that sees only those batches, whatever was loaded since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from zhida.matching.errors import NotReproducible
from zhida.profiles.store import Batch, ProfileStore


@dataclass(frozen=True)
class Snapshot:
    root: str
    batches: tuple[tuple[str, str], ...]   # (batch id, file SHA-256)

    @classmethod
    def of(cls, store: ProfileStore, as_of: date) -> Snapshot:
        return cls(str(store.root), tuple((b.id, b.file_sha256) for b in store.batches(known_by=as_of)))

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "batches": [list(b) for b in self.batches]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Snapshot:
        return cls(doc["root"], tuple((b[0], b[1]) for b in doc["batches"]))

    def open(self) -> SnapshotStore:
        store = SnapshotStore(Path(self.root), self)
        present = {(b.id, b.file_sha256) for b in ProfileStore(Path(self.root)).batches()}
        gone = [b for b in self.batches if b not in present]
        if gone:
            raise NotReproducible(
                f"画像库 {self.root} 中已找不到该次匹配读取的 {len(gone)} 个数据批次（如 {gone[0][0]}）；"
                "请从备份恢复画像库后再复现。")
        return store


class SnapshotStore(ProfileStore):
    """A profile store that sees only the batches of a snapshot (read-only)."""

    def __init__(self, root: Path, snapshot: Snapshot) -> None:
        super().__init__(root)
        self.snapshot = snapshot
        self._ids = {b[0] for b in snapshot.batches}

    def batches(self, known_by: date | None = None) -> list[Batch]:
        return [b for b in super().batches(known_by) if b.id in self._ids]

    def commit(self, batch: Batch, tables: dict[str, Any]) -> Batch:
        raise NotReproducible("快照只读：请向画像库本身导入数据。")
