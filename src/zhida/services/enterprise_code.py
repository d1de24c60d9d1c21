"""企业码: a signed QR code per enterprise, linking to its public page.

The payload is the page's address with the issue date, the signing key's id and an Ed25519
signature over everything before the signature:

    <public url>/e/<统一社会信用代码>?v=1&d=<issue date>&k=<key id>&s=<signature>

The signed text is the payload up to (not including) `&s=`, in the domain `zhida-code/v1`
(`signing`), so the address, the firm, the date and the key id are all covered: change any
character and the code no longer verifies. `verify_code` needs only the published verifier key.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import segno

from zhida.accounts import User, require_enterprise
from zhida.audit import log as audit_log
from zhida.audit.note import Signer
from zhida.db.uow import UnitOfWork
from zhida.profiles.datause import record_use
from zhida.profiles.registry import Registry
from zhida.profiles.store import ProfileStore
from zhida.profiles.uscc import is_valid
from zhida.services import signing
from zhida.services.errors import ServiceError, VerificationFailed
from zhida.services.public_page import PublicPage, public_page

DOMAIN = "zhida-code/v1"
PATH = "/e/"
SHAPE = "<网址>/e/<统一社会信用代码>?v=1&d=<签发日期>&k=<密钥编号>&s=<签名>"
IMAGE_KINDS = (".svg", ".png", ".pdf", ".eps")


@dataclass(frozen=True)
class EnterpriseCode:
    payload: str
    uscc: str
    issued: date
    page: PublicPage


@dataclass(frozen=True)
class VerifiedCode:
    uscc: str
    issued: date
    url: str          # the address the code opens: the firm's public page (the whole payload)
    key_name: str
    key_id: str


def payload_for(base_url: str, uscc: str, issued: date, signer: Signer) -> str:
    """The signed payload of a firm's code."""
    prefix = f"{base_url.rstrip('/')}{PATH}{uscc}?v=1&d={issued.isoformat()}&k={signing.key_id(signer)}"
    return f"{prefix}&s={signing.sign(signer, DOMAIN, prefix)}"


def issue_code(uow: UnitOfWork, store: ProfileStore, registry: Registry, uscc: str, *, actor: User, as_of: date,
               issued: date, signer: Signer, base_url: str, legal_basis: str | None = None,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> EnterpriseCode:
    """A firm's code (the firm itself, or staff who may see any firm). Reading the public page's
    facts is recorded as a data use, and the issue as an `enterprise_code.issue` audit entry."""
    require_enterprise(actor, uscc)
    page = public_page(store, registry, uscc, as_of)
    payload = payload_for(base_url, uscc, issued, signer)
    basis = legal_basis or ("企业申领本企业的企业码" if actor.uscc == uscc else "依职责为企业签发企业码")
    at = clock()
    with uow:
        record_use(uow, uscc=uscc, fields=page.fields, purpose="签发企业码（公开页面的登记、资质与信用状态）",
                   actor=actor.username, legal_basis=basis, used_at=at, as_of=as_of)
        audit_log.record(uow, kind="enterprise_code.issue", actor=actor.username, subject=f"enterprise:{uscc}",
                         data={"issued": issued.isoformat(), "key": signing.key_id(signer), "payload": payload},
                         clock=lambda: at)
        uow.commit()
    return EnterpriseCode(payload=payload, uscc=uscc, issued=issued, page=page)


def verify_code(payload: str, published: Sequence[str]) -> VerifiedCode:
    """Check a scanned payload with the published verifier key(s); public, offline."""
    text = payload.strip()
    prefix, sep, signature = text.rpartition("&s=")
    if not sep:
        raise VerificationFailed(f"这不是本平台签发的企业码：缺少签名（&s=…）。企业码应形如 {SHAPE}。")
    parts = urlsplit(prefix)
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise VerificationFailed(f"企业码的参数部分无法解析；企业码应形如 {SHAPE}，可能被改动过。") from None
    if query.get("v") != "1":
        raise VerificationFailed(f"企业码的版本 v={query.get('v', '（缺失）')} 不受支持（应为 v=1）；可能被改动过。")
    if "k" not in query:
        raise VerificationFailed(f"企业码缺少密钥编号（k=…）；企业码应形如 {SHAPE}。")
    key = signing.verify(published, query["k"], DOMAIN, prefix, signature, what="企业码")
    uscc = parts.path.rpartition(PATH)[2] if PATH in parts.path else ""
    try:
        issued = date.fromisoformat(query.get("d", ""))
    except ValueError:
        issued = None
    if not is_valid(uscc) or issued is None:   # signed, yet malformed: not made by `payload_for`
        raise VerificationFailed("企业码签名成立，但其中的统一社会信用代码或签发日期格式不对；请联系签发机关。")
    return VerifiedCode(uscc=uscc, issued=issued, url=text, key_name=key.name,
                        key_id=key.key_id)


def qr_image(payload: str, kind: str = ".svg", *, title: str = "") -> bytes:
    """The code as the bytes of an image of this kind (.svg, .png, .pdf, .eps), for a page or a file."""
    kind = kind.lower()
    if kind not in IMAGE_KINDS:
        raise ServiceError(f"企业码图片格式“{kind}”不支持：请用 {'、'.join(IMAGE_KINDS)} 之一。")
    extra = {"title": title} if kind == ".svg" and title else {}
    qr = segno.make(payload, error="m")
    if kind == ".eps":                     # segno writes EPS as text
        text = io.StringIO()
        qr.save(text, kind="eps", scale=6, border=4)
        return text.getvalue().encode("ascii")
    out = io.BytesIO()
    qr.save(out, kind=kind[1:], scale=6, border=4, **extra)
    return out.getvalue()


def write_qr(payload: str, out: Path, *, title: str = "") -> Path:
    """The code as an image; the kind follows the file's extension (.svg, .png, .pdf, .eps)."""
    kind = out.suffix.lower()
    if kind not in IMAGE_KINDS:
        raise ServiceError(f"企业码图片“{out.name}”的格式不支持：请用 {'、'.join(IMAGE_KINDS)} 之一作为扩展名。")
    image = qr_image(payload, kind, title=title)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(image)
    return out
