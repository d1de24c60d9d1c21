"""The audit log: every decision, transition, data use and payment, appended to a Merkle log.

    record(uow, kind="offer.approve", actor="reviewer", subject="offer:12", data={...})
        stages an entry in the caller's transaction; at its commit the entries get the next
        leaf indexes under the log head's row lock (taken last, so appenders queue rather
        than deadlock) and are written with their leaf hashes — or, on rollback, never exist.
    checkpoint(uow, signer, origin=…)  a signed tree head (C2SP checkpoint) over the whole log,
        refused when the log no longer matches an earlier checkpoint.
    verify(uow, log_key)  recompute every leaf and every checkpoint's root; name the first bad
        index of an altered, removed, inserted or reordered entry.
    inclusion(uow, index, size) / consistency(uow, first, second)  proofs a third party checks
        with zhida.audit.merkle.verify_inclusion / verify_consistency alone.

An entry is canonical JSON (sorted keys, no spaces, UTF-8) holding its own index, time, actor,
kind, subject and data; the columns beside it are for queries and must agree with it.
Personal data never goes into an entry in plain text (mask it before recording).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.audit import merkle, note
from zhida.db.tables import audit_checkpoints, audit_head, audit_log
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError

Clock = Callable[[], datetime]
_STAGE = "audit"


class AuditError(ZhidaError):
    """The audit log cannot do what was asked (or no longer matches its checkpoints)."""


def _now() -> datetime:
    return datetime.now(UTC)


def canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def record(uow: UnitOfWork, *, kind: str, actor: str, subject: str, data: Mapping[str, Any] | None = None,
           clock: Clock = _now) -> None:
    """Stage one entry in the open transaction; it is written (and numbered) at the commit."""
    staged = uow.staged(_STAGE)
    if not staged:
        uow.before_commit(_flush)
    staged.append({"at": clock().astimezone(UTC).isoformat(timespec="microseconds"), "actor": actor,
                   "kind": kind, "subject": subject, "data": dict(data or {})})


def _flush(uow: UnitOfWork) -> None:
    staged = uow.staged(_STAGE)
    if not staged:
        return
    # the row lock on the head orders appenders; RETURNING gives this transaction's range
    size, alg = uow.conn.execute(sa.update(audit_head).where(audit_head.c.id == 1)
                                 .values(size=audit_head.c.size + len(staged))
                                 .returning(audit_head.c.size, audit_head.c.hash_alg)).one()
    h = merkle.hasher(alg)
    rows = []
    for idx, entry in enumerate(staged, start=size - len(staged)):
        full = {"idx": idx, **entry}
        rows.append({"idx": idx, "at": datetime.fromisoformat(entry["at"]), "actor": entry["actor"],
                     "kind": entry["kind"], "subject": entry["subject"], "entry": canonical(full).decode(),
                     "leaf_hash": h.leaf(canonical(full)).hex()})
    uow.conn.execute(sa.insert(audit_log), rows)


def hash_algorithm(uow: UnitOfWork) -> str:
    with uow:
        return str(uow.conn.execute(sa.select(audit_head.c.hash_alg)).scalar_one())


def use_hash(uow: UnitOfWork, name: str) -> None:
    """Set the log's hash algorithm (sha256 or sm3): possible only while the log is empty."""
    merkle.hasher(name)
    with uow:
        size, alg = uow.conn.execute(sa.select(audit_head.c.size, audit_head.c.hash_alg)).one()
        if alg == name:
            return
        if size:
            raise AuditError(f"审计日志已用 {alg} 记录了 {size} 条，不能改用 {name}；"
                             f"请把设置 ZHIDA_AUDIT_HASH 改回 {alg}。")
        uow.conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(hash_alg=name))
        uow.commit()


@dataclass(frozen=True)
class Entry:
    idx: int
    at: datetime
    actor: str
    kind: str
    subject: str
    data: dict[str, Any]


def entries(uow: UnitOfWork, *, actor: User, subject: str | None = None, kind: str | None = None,
            limit: int = 100) -> list[Entry]:
    """The latest entries, newest first (optionally of one subject or kind)."""
    require(actor, Permission.VERIFY_AUDIT)
    q = sa.select(audit_log.c.entry).order_by(audit_log.c.idx.desc()).limit(limit)
    if subject is not None:
        q = q.where(audit_log.c.subject == subject)
    if kind is not None:
        q = q.where(audit_log.c.kind == kind)
    with uow:
        found = [json.loads(text) for text in uow.conn.execute(q).scalars()]
    return [Entry(e["idx"], datetime.fromisoformat(e["at"]), e["actor"], e["kind"], e["subject"], e["data"])
            for e in found]


def entries_of_kind(uow: UnitOfWork, prefix: str, *, actor: User) -> list[Entry]:
    """Every entry whose kind starts with `prefix` (e.g. "offer."), oldest first, read from the
    hashed entry text (a service compares them with its own tables; `verify` vouches for them)."""
    require(actor, Permission.VERIFY_AUDIT)
    q = sa.select(audit_log.c.entry).where(audit_log.c.kind.startswith(prefix, autoescape=True)
                                           ).order_by(audit_log.c.idx)
    with uow:
        found = [json.loads(text) for text in uow.conn.execute(q).scalars()]
    return [Entry(e["idx"], datetime.fromisoformat(e["at"]), e["actor"], e["kind"], e["subject"], e["data"])
            for e in found]


# --- checking the stored log ---------------------------------------------------------------


@dataclass
class Report:
    size: int                                   # the head's size
    hash_alg: str
    checkpoints: int = 0                        # checkpoints whose signature and root verified
    first_bad: int | None = None                # the first index that is not what was appended
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _leaves(uow: UnitOfWork, h: merkle.Hasher, size: int, report: Report | None = None) -> list[bytes]:
    """Every leaf hash recomputed from the stored entries, checking each row against itself."""
    leaves: list[bytes] = []
    for row in uow.conn.execute(sa.select(audit_log).order_by(audit_log.c.idx)).mappings():
        expected = len(leaves)
        problem = _row_problem(row, expected, h)
        if problem:
            if report is None:
                raise AuditError(f"审计日志第 {expected} 条{problem}；请运行 zhida audit verify 查看。")
            report.first_bad = expected if report.first_bad is None else report.first_bad
            report.problems.append(f"第 {expected} 条：{problem}")
            return leaves
        leaves.append(h.leaf(row["entry"].encode()))
    if len(leaves) != size:
        problem = (f"日志头记录有 {size} 条，实际有 {len(leaves)} 条："
                   + ("末尾的条目被删除" if len(leaves) < size else "末尾被插入了条目"))
        if report is None:
            raise AuditError(f"审计日志{problem}；请运行 zhida audit verify 查看。")
        report.first_bad = min(len(leaves), size) if report.first_bad is None else report.first_bad
        report.problems.append(problem)
    return leaves


def _row_problem(row: sa.RowMapping, expected: int, h: merkle.Hasher) -> str | None:
    """What is wrong with the row at position `expected`, if anything."""
    if row["idx"] != expected:
        return (f"缺失（下一条是第 {row['idx']} 条）：被删除，或序号被改动" if row["idx"] > expected
                else f"序号 {row['idx']} 重复")
    try:
        entry = json.loads(row["entry"])
    except ValueError:
        return "内容不是有效的 JSON：被直接改写过"
    if not isinstance(entry, dict) or entry.get("idx") != expected:
        own = entry.get("idx") if isinstance(entry, dict) else "？"
        return f"记录自身的序号为 {own}：条目被移动（插入、删除或调换顺序）"
    if canonical(entry).decode() != row["entry"]:
        return "内容不是规范格式：被直接改写过"
    if h.leaf(row["entry"].encode()).hex() != row["leaf_hash"]:
        return "内容与登记的叶子哈希不符：条目被改动"
    if (entry.get("actor"), entry.get("kind"), entry.get("subject")) != (row["actor"], row["kind"], row["subject"]) \
            or datetime.fromisoformat(entry["at"]) != row["at"]:
        return "查询用的列（操作人、类型、对象、时间）与记录内容不符：被改动"
    return None


def verify(uow: UnitOfWork, log_key: str, witness_keys: tuple[str, ...] = (), *, actor: User) -> Report:
    """Recompute the log and check every stored checkpoint against it (signature and root)."""
    require(actor, Permission.VERIFY_AUDIT)
    with uow:
        size, alg = uow.conn.execute(sa.select(audit_head.c.size, audit_head.c.hash_alg)).one()
        h = merkle.hasher(alg)
        report = Report(size=size, hash_alg=alg)
        leaves = _leaves(uow, h, size, report)
        for cp in uow.conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.id)).mappings():
            try:
                checkpoint, _ = note.verify_checkpoint(cp["note"], log_key, witness_keys)
            except note.NoteError as e:
                report.problems.append(f"检查点 {cp['id']}：{e}")
                continue
            if checkpoint.size > len(leaves):
                if report.first_bad is None:
                    report.problems.append(
                        f"检查点 {cp['id']} 签署了 {checkpoint.size} 条，日志中只有 {len(leaves)} 条可核对")
                continue
            if merkle.root(leaves[: checkpoint.size], h) != checkpoint.root:
                report.problems.append(f"检查点 {cp['id']}（前 {checkpoint.size} 条）的根哈希与日志重新计算的不符："
                                       f"前 {checkpoint.size} 条中有记录被改动（连同其哈希）")
                if report.first_bad is None:
                    report.first_bad = _first_mismatch(uow, cp["id"], checkpoint.size, leaves, h, log_key)
                continue
            report.checkpoints += 1
    return report


def _first_mismatch(uow: UnitOfWork, checkpoint_id: int, size: int, leaves: list[bytes], h: merkle.Hasher,
                    log_key: str) -> int:
    """The lowest index the tampering can be at: past the largest earlier checkpoint that still
    verifies (a checkpoint signs only a root, so within its range no finer answer exists)."""
    start = 0
    for cp_note in uow.conn.execute(sa.select(audit_checkpoints.c.note).where(audit_checkpoints.c.id < checkpoint_id)
                                    ).scalars():
        try:
            earlier, _ = note.verify_checkpoint(cp_note, log_key)
        except note.NoteError:
            continue
        if earlier.size <= size and merkle.root(leaves[: earlier.size], h) == earlier.root:
            start = max(start, earlier.size)
    return start


# --- checkpoints and proofs ----------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    size: int
    root: bytes
    note: str
    created_at: datetime


def _checkpoint(row: sa.RowMapping) -> StoredCheckpoint:
    return StoredCheckpoint(row["id"], row["size"], bytes.fromhex(row["root"]), row["note"], row["created_at"])


def checkpoint(uow: UnitOfWork, signer: note.Signer, *, origin: str, actor: User, clock: Clock = _now
               ) -> StoredCheckpoint:
    """Sign the current tree head. Refused when the log does not match itself or an earlier
    checkpoint: a checkpoint must never vouch for a tampered log."""
    require(actor, Permission.VERIFY_AUDIT)
    with uow:
        size, alg = uow.conn.execute(sa.select(audit_head.c.size, audit_head.c.hash_alg)
                                     .where(audit_head.c.id == 1)).one()
        h = merkle.hasher(alg)
        leaves = _leaves(uow, h, size)
        for earlier in uow.conn.execute(sa.select(audit_checkpoints)).mappings():
            if earlier["size"] <= size and merkle.root(leaves[: earlier["size"]], h).hex() != earlier["root"]:
                raise AuditError(f"审计日志与检查点 {earlier['id']} 不一致，拒绝签发新检查点；"
                                 "请运行 zhida audit verify。")
        root = merkle.root(leaves, h)
        signed = note.sign(note.Checkpoint(origin, size, root), signer)
        new_id = uow.conn.execute(sa.insert(audit_checkpoints).values(
            size=size, root=root.hex(), note=signed, created_at=clock(), created_by=actor.username)
            .returning(audit_checkpoints.c.id)).scalar_one()
        stored = get_checkpoint(uow, new_id)
        uow.commit()
    return stored


def cosign(uow: UnitOfWork, checkpoint_id: int, witness: note.Signer, log_key: str, *, actor: User,
           clock: Clock = _now) -> StoredCheckpoint:
    """A department, as a witness, checks the checkpoint against the log and adds its cosignature."""
    require(actor, Permission.VERIFY_AUDIT)
    with uow:
        cp = get_checkpoint(uow, checkpoint_id)
        note.verify_checkpoint(cp.note, log_key)
        size, alg = uow.conn.execute(sa.select(audit_head.c.size, audit_head.c.hash_alg)).one()
        h = merkle.hasher(alg)
        leaves = _leaves(uow, h, size)
        if merkle.root(leaves[: cp.size], h) != cp.root:
            raise AuditError(f"检查点 {checkpoint_id} 与日志不符，不能联署；请运行 zhida audit verify。")
        cosigned = note.cosign(cp.note, witness, int(clock().timestamp()))
        uow.conn.execute(sa.update(audit_checkpoints).where(audit_checkpoints.c.id == checkpoint_id)
                         .values(note=cosigned))
        cp = get_checkpoint(uow, checkpoint_id)
        uow.commit()
    return cp


def get_checkpoint(uow: UnitOfWork, checkpoint_id: int) -> StoredCheckpoint:
    with uow:
        row = uow.conn.execute(sa.select(audit_checkpoints).where(audit_checkpoints.c.id == checkpoint_id)
                               ).mappings().first()
    if row is None:
        raise AuditError(f"没有编号为 {checkpoint_id} 的检查点；用 zhida audit checkpoints 查看已有的。")
    return _checkpoint(row)


def checkpoints(uow: UnitOfWork) -> list[StoredCheckpoint]:
    with uow:
        return [_checkpoint(r) for r in uow.conn.execute(
            sa.select(audit_checkpoints).order_by(audit_checkpoints.c.id)).mappings()]


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes
    hash_alg: str
    entry: str


def inclusion(uow: UnitOfWork, index: int, size: int | None = None, *, actor: User) -> InclusionProof:
    """The proof that entry `index` is in the tree of `size` entries (default: the latest checkpoint's)."""
    require(actor, Permission.VERIFY_AUDIT)
    with uow:
        head, alg = uow.conn.execute(sa.select(audit_head.c.size, audit_head.c.hash_alg)).one()
        h = merkle.hasher(alg)
        if size is None:
            latest = uow.conn.execute(sa.select(sa.func.max(audit_checkpoints.c.size))).scalar_one()
            size = int(latest) if latest is not None else head
        if not 0 <= index < size <= head:
            raise AuditError(f"第 {index} 条不在大小为 {size} 的日志树中（日志共 {head} 条）；"
                             "请先签发包含它的检查点（zhida audit checkpoint）。")
        leaves = _leaves(uow, h, head)[:size]
        entry = uow.conn.execute(sa.select(audit_log.c.entry).where(audit_log.c.idx == index)).scalar_one()
    return InclusionProof(index, size, leaves[index], merkle.inclusion_proof(index, leaves, h),
                          merkle.root(leaves, h), alg, entry)


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]
    hash_alg: str


def consistency(uow: UnitOfWork, first: int, second: int) -> ConsistencyProof:
    """The proof that the log at size `first` is a prefix of the log at size `second` (hashes
    only: anyone holding two checkpoints may ask for it)."""
    with uow:
        head, alg = uow.conn.execute(sa.select(audit_head.c.size, audit_head.c.hash_alg)).one()
        if not 0 < first <= second <= head:
            raise AuditError(f"一致性证明要求 0 < {first} ≤ {second} ≤ 日志大小 {head}。")
        h = merkle.hasher(alg)
        leaves = _leaves(uow, h, head)[:second]
    return ConsistencyProof(first, second, merkle.root(leaves[:first], h), merkle.root(leaves, h),
                            merkle.consistency_proof(first, leaves, h), alg)
