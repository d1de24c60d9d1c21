"""材料银行: a firm uploads a file once, it is classified by name and kind, checked, stored by
its content, and attached to any number of applications.

    m = upload(uow, files, actor=firm, file_name="营业执照.pdf", content=data)
    find(uow, actor=firm)                      # the firm's materials, newest first
    read(uow, files, m.id, actor=reviewer)     # the bytes (a firm's own, or its applications' reviewer)

Files are stored under `<data dir>/materials/<sha256[:2]>/<sha256>`, written to a temporary name
and renamed, so a crash leaves either the whole file or none; the same file uploaded again is
the same material. The type is checked from the content (puremagic), not only the name: a
renamed executable is refused.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

import puremagic
import sqlalchemy as sa

from zhida.accounts import Role, User
from zhida.accounts.errors import NotAllowed
from zhida.audit import log as audit_log
from zhida.db.tables import application_materials, applications, materials
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError

MAX_BYTES = 20 * 1024 * 1024
SUBMITTED = ("in_review", "approved", "rejected")   # application states a department has received
_ZIP = {"application/zip", "application/x-zip-compressed",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
# extension → (the type stored, the types its content may be detected as)
ALLOWED: dict[str, tuple[str, frozenset[str]]] = {
    ".pdf": ("application/pdf", frozenset({"application/pdf"})),
    ".jpg": ("image/jpeg", frozenset({"image/jpeg"})),
    ".jpeg": ("image/jpeg", frozenset({"image/jpeg"})),
    ".png": ("image/png", frozenset({"image/png"})),
    ".ofd": ("application/ofd", frozenset(_ZIP)),     # 版式文档 (GB/T 33190): a zip container
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", frozenset(_ZIP)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", frozenset(_ZIP)),
}
# kind → (label, words in a file name or a clause's material list that mean it), most specific first
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "license": ("营业执照", ("营业执照", "执照")),
    "lease": ("租赁合同", ("租赁", "租房", "房租", "租金")),
    "labor_contract": ("劳动合同", ("劳动合同", "聘用合同")),
    "roster": ("人员名册", ("名册", "花名册", "名单")),
    "social_insurance": ("社保缴费证明", ("社保", "社会保险", "参保", "缴费明细")),
    "tax": ("纳税证明", ("纳税", "完税", "税收", "缴税")),
    "financial": ("财务报表", ("财务报表", "审计报告", "资产负债", "利润表", "财报")),
    "bank": ("银行开户证明", ("开户", "银行账户", "收款账户")),
    "pledge": ("承诺书", ("承诺",)),
    "certificate": ("资质证书", ("证书", "认定", "资质")),
    "other": ("其他材料", ()),
}


class MaterialError(ZhidaError):
    """A file the 材料银行 cannot take, or a material that does not exist."""


@dataclass(frozen=True)
class Material:
    id: int
    uscc: str
    kind: str
    file_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind][0]


def classify(text: str) -> str:
    """The kind a file name (or a clause's material wording) names; "other" when none."""
    stem = PurePath(text).stem if "." in text else text
    for kind, (label, words) in KINDS.items():
        if label in stem or any(w in stem for w in words):
            return kind
    return "other"


def upload(uow: UnitOfWork, files: Path, *, actor: User, file_name: str, content: bytes, kind: str | None = None,
           clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Material:
    """Put one file into the firm's 材料银行 (the acting firm's own). Checked whole before
    anything is stored: name, size, type from the content; `kind` (default: from the name)."""
    uscc = _firm(actor)
    name = PurePath(file_name.replace("\\", "/")).name.strip()
    suffix = PurePath(name).suffix.lower()
    if not name or suffix not in ALLOWED:
        raise MaterialError(f"文件“{file_name}”的类型不能上传：只接受 {'、'.join(sorted(ALLOWED))}；"
                            "请转为 PDF 或图片后再上传。")
    if not content:
        raise MaterialError(f"文件“{name}”是空文件；请重新选择文件。")
    if len(content) > MAX_BYTES:
        raise MaterialError(f"文件“{name}”有 {len(content) / 1024 / 1024:.1f} MB，超过 {MAX_BYTES // 1024 // 1024} MB "
                            "的上限；请压缩或分成几个文件上传。")
    stored_type, accepted = ALLOWED[suffix]
    detected = _detected(content)
    if not detected & accepted:
        seen = "、".join(sorted(detected)) or "未知类型"
        raise MaterialError(f"文件“{name}”的内容不是 {suffix} 文件（识别为 {seen}）；请上传原始文件，不要只改扩展名。")
    kind = kind or classify(name)
    if kind not in KINDS:
        raise MaterialError(f"材料类别“{kind}”不存在；可选：{'、'.join(f'{k}（{v[0]}）' for k, v in KINDS.items())}。")
    digest = hashlib.sha256(content).hexdigest()
    _store(files, digest, content)
    with uow:
        existing = uow.conn.execute(sa.select(materials.c.id).where(
            (materials.c.uscc == uscc) & (materials.c.sha256 == digest))).scalar()
        if existing is None:
            existing = uow.conn.execute(sa.insert(materials).values(
                uscc=uscc, kind=kind, file_name=name, content_type=stored_type, size=len(content), sha256=digest,
                uploaded_at=clock(), uploaded_by=actor.username).returning(materials.c.id)).scalar_one()
        material = _get(uow, int(existing))
        uow.commit()
    return material


def find(uow: UnitOfWork, *, actor: User, kind: str | None = None) -> list[Material]:
    """The acting firm's materials, newest first."""
    uscc = _firm(actor)
    q = sa.select(materials).where(materials.c.uscc == uscc).order_by(materials.c.id.desc())
    if kind:
        q = q.where(materials.c.kind == kind)
    with uow:
        return [_material(r) for r in uow.conn.execute(q).mappings()]


def attached(uow: UnitOfWork, application_id: int) -> list[Material]:
    with uow:
        rows = uow.conn.execute(sa.select(materials).select_from(materials.join(
            application_materials, application_materials.c.material_id == materials.c.id))
            .where(application_materials.c.application_id == application_id).order_by(materials.c.id)).mappings()
        return [_material(r) for r in rows]


def read(uow: UnitOfWork, files: Path, material_id: int, *, actor: User) -> tuple[Material, bytes]:
    """A material's bytes: for the firm itself, or a reviewer of a department it was submitted to.
    A reviewer's read is a use of the firm's data: a `material.read` entry of the audit log, in
    the same transaction (the file's kind and hash, never its content or name)."""
    with uow:
        material = _get(uow, material_id)
        own = actor.uscc == material.uscc and Role.ENTERPRISE in actor.roles
        if not own:
            departments = set(uow.conn.execute(sa.select(applications.c.department).select_from(
                applications.join(application_materials, application_materials.c.application_id == applications.c.id))
                .where((application_materials.c.material_id == material_id)
                       & applications.c.state.in_(SUBMITTED))).scalars())
            if not (Role.REVIEWER in actor.roles and actor.active and actor.department in departments):
                raise NotAllowed(f"材料 {material_id} 属于企业 {material.uscc}；"
                                 "只有该企业，或受理其申报的部门审核人员可以查看。")
        path = _path(files, material.sha256)
        if not path.exists():
            raise MaterialError(f"材料 {material_id}（{material.file_name}）的文件不在 {path}；请从备份恢复材料目录。")
        content = path.read_bytes()
        if not own:
            audit_log.record(uow, kind="material.read", actor=actor.username, subject=f"enterprise:{material.uscc}",
                             data={"material": material.id, "kind": material.kind, "sha256": material.sha256,
                                   "department": actor.department, "purpose": "申报审核"})
        uow.commit()
    return material, content


def _firm(actor: User) -> str:
    if Role.ENTERPRISE not in actor.roles or not actor.uscc or not actor.active:
        raise NotAllowed("材料银行只供企业账号使用：请以企业账号登录后上传。")
    return actor.uscc


def _detected(content: bytes) -> set[str]:
    try:
        return {m.mime_type for m in puremagic.magic_string(content[:8192]) if m.mime_type}
    except puremagic.PureError:
        return set()


def _path(files: Path, digest: str) -> Path:
    return files / "materials" / digest[:2] / digest


def _store(files: Path, digest: str, content: bytes) -> None:
    path = _path(files, digest)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _get(uow: UnitOfWork, material_id: int) -> Material:
    row = uow.conn.execute(sa.select(materials).where(materials.c.id == material_id)).mappings().first()
    if row is None:
        raise MaterialError(f"没有编号为 {material_id} 的材料；请在材料银行中核对。")
    return _material(row)


def _material(r: sa.RowMapping) -> Material:
    return Material(id=r["id"], uscc=r["uscc"], kind=r["kind"], file_name=r["file_name"],
                    content_type=r["content_type"], size=r["size"], sha256=r["sha256"], uploaded_at=r["uploaded_at"])
