"""专用信用报告: a one-click report of a firm's violations and penalties for a period, as a signed PDF.

The verification code printed on the report (and held in its seal) is

    ZCR1.<统一社会信用代码>.<from>.<to>.<issue date>.<records>.<content hash>.<key id>.<signature>

where the content hash is the base64url SHA-256 of the report's content (`credit_content`), and
the signature (Ed25519, domain `zhida-credit-report/v1`) covers the code's text up to the last
dot. Given the code alone, `verify_report_code` confirms who was reported on, for which period, on
which date, how many records, and the content's hash; given the PDF, `verify_report_file` also
checks the seal over every byte of the file (`report_seal`) and that the attached content has
that hash. Both need only the published verifier key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from zhida.accounts import User, require_enterprise
from zhida.audit import log as audit_log
from zhida.audit.note import Signer
from zhida.db.uow import UnitOfWork
from zhida.profiles.datause import record_use
from zhida.profiles.registry import Registry
from zhida.profiles.store import ProfileStore
from zhida.services import report_pdf, report_seal, signing
from zhida.services.credit_content import ReportContent, collect, fields_used
from zhida.services.errors import VerificationFailed

DOMAIN = "zhida-credit-report/v1"
PREFIX = "ZCR1"
SHAPE = "ZCR1.<统一社会信用代码>.<起始日>.<截止日>.<出具日>.<记录数>.<内容摘要>.<密钥编号>.<签名>"


@dataclass(frozen=True)
class ReportCode:
    uscc: str
    start: date
    end: date
    issued: date
    records: int
    digest: bytes
    key_id: str

    def body(self) -> str:
        return ".".join([PREFIX, self.uscc, self.start.isoformat(), self.end.isoformat(), self.issued.isoformat(),
                         str(self.records), signing.b64url(self.digest), self.key_id])

    @classmethod
    def parse(cls, body: str) -> ReportCode:
        """The fields of a code's signed text (the part before the signature)."""
        parts = body.split(".")
        if len(parts) != 8 or parts[0] != PREFIX:
            raise VerificationFailed(f"这不是本平台的信用报告验证码：应形如 {SHAPE}（共 9 段，以“.”分隔）。")
        try:
            start, end, issued = (date.fromisoformat(p) for p in parts[2:5])
        except ValueError:
            raise VerificationFailed("验证码中的日期格式不对（应为 YYYY-MM-DD）；验证码可能被改动过。") from None
        if not parts[5].isdigit():
            raise VerificationFailed(f"验证码中的记录数“{parts[5]}”不是数字；验证码可能被改动过。")
        digest = signing.unb64url(parts[6], what="验证码中的内容摘要")
        code = cls(parts[1], start, end, issued, int(parts[5]), digest, parts[7])
        if len(digest) != 32 or code.body() != body:
            raise VerificationFailed("验证码的写法不规范（与签发时的写法不一致）；验证码可能被改动过。")
        return code


@dataclass(frozen=True)
class IssuedReport:
    content: ReportContent
    code: str
    pdf: bytes


@dataclass(frozen=True)
class VerifiedReport:
    code: ReportCode
    key_name: str
    content: ReportContent | None     # known when a file was checked, None for a code alone


def issue_report(uow: UnitOfWork, store: ProfileStore, registry: Registry, uscc: str, start: date, end: date, *,
                 actor: User, as_of: date, issued: date, signer: Signer, font: Path | None = None,
                 legal_basis: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> IssuedReport:
    """A firm's report for `start`–`end` (the firm itself, or staff who may see any firm), from the
    credit data known on `as_of`, issued on `issued`. The read is recorded as a data use and the
    issue as a `credit_report.issue` audit entry (with the code, so an issued report can be found)."""
    require_enterprise(actor, uscc)
    cjk = report_pdf.find_font(font)
    content = collect(store, registry, uscc, start, end, as_of=as_of, issued=issued, issuer=signer.name)
    body = ReportCode(uscc, start, end, issued, content.records, content.digest(), signing.key_id(signer)).body()
    code = f"{body}.{signing.sign(signer, DOMAIN, body)}"
    at = clock()
    pdf = report_pdf.render(content, code, signer.verifier(), font=cjk, created=at, keywords=report_seal.keywords(code))
    sealed = report_seal.seal(pdf, signer)
    basis = legal_basis or ("企业申请出具本企业的专用信用报告" if actor.uscc == uscc else "依职责出具企业专用信用报告")
    with uow:
        record_use(uow, uscc=uscc, fields=fields_used(registry), purpose=f"出具专用信用报告（报告期 {start} 至 {end}）",
                   actor=actor.username, legal_basis=basis, used_at=at, as_of=as_of)
        audit_log.record(uow, kind="credit_report.issue", actor=actor.username, subject=f"enterprise:{uscc}",
                         data={"code": code, "records": content.records,
                               "file_sha256": hashlib.sha256(sealed).hexdigest()}, clock=lambda: at)
        uow.commit()
    return IssuedReport(content=content, code=code, pdf=sealed)


def verify_report_code(code: str, published: Sequence[str]) -> VerifiedReport:
    """Check a verification code (typed in or scanned) with the published verifier key(s)."""
    text = code.strip()
    body, sep, signature = text.rpartition(".")
    if not sep or not body.startswith(PREFIX + "."):
        raise VerificationFailed(f"这不是本平台的信用报告验证码：应形如 {SHAPE}。")
    key_id = body.rpartition(".")[2]
    key = signing.verify(published, key_id, DOMAIN, body, signature, what="信用报告验证码")
    return VerifiedReport(code=ReportCode.parse(body), key_name=key.name, content=None)


def verify_report_file(pdf: bytes, published: Sequence[str]) -> VerifiedReport:
    """Check a report PDF: its seal over every byte, its code, and its content against the code."""
    found = report_seal.read_seal(pdf)
    key_id = found.code.rpartition(".")[0].rpartition(".")[2]
    signing.verify(published, key_id, report_seal.DOMAIN, f"{found.code}\n{found.digest}", found.signature,
                   what="信用报告文件")
    verified = verify_report_code(found.code, published)
    raw = report_seal.content_bytes(pdf)
    if hashlib.sha256(raw).digest() != verified.code.digest:
        raise VerificationFailed("信用报告文件中的内容附件与验证码中的内容摘要不符；文件被改动过，请勿采信。")
    content = ReportContent.from_json(raw)
    c = verified.code
    if (content.uscc, content.start, content.end, content.issued) != (c.uscc, c.start, c.end, c.issued):
        raise VerificationFailed("信用报告文件中的企业、报告期或出具日期与验证码不符；请勿采信。")
    return VerifiedReport(code=c, key_name=verified.key_name, content=content)
