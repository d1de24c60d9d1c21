"""The enterprise services' signing key, and signatures that anyone can check offline.

One Ed25519 key signs enterprise codes and credit reports. It is kept like the audit log's key
(`zhida.audit.keys`, `zhida.audit.note`): the private key in signed-note text form
`PRIVATE+KEY+<name>+<id>+<base64>` in a file readable only by its owner, made on first use; the
verifier key to publish is `<name>+<id>+<base64(0x01 ‖ public key)>`, and `<id>` (8 hex digits)
travels with every signature so that a verifier holding several published keys (after a
rotation) picks the right one.

Messages are domain-separated: the signed bytes are `<domain>\\n<text>` (`zhida-code/v1`,
`zhida-credit-report/v1`, …), so a signature made for one kind of document never verifies as
another. Signatures travel as unpadded base64url (86 characters) and are decoded strictly: the
text must be exactly the encoding of the 64 bytes, so no character of it can change unnoticed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from zhida.audit import keys
from zhida.audit.note import Signer, Verifier
from zhida.services.errors import ServiceError, VerificationFailed

KEY_NAME = "zhida/enterprise-services"
KEY_FILE = "enterprise-services.key"
SIGNATURE_CHARS = 86          # unpadded base64url of a 64-byte Ed25519 signature
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_KEY_ID = re.compile(r"^[0-9a-f]{8}$")


def key_path(data_dir: Path) -> Path:
    """Where the key lives: `keys/enterprise-services.key` in the data directory."""
    return data_dir / "keys" / KEY_FILE


def load_or_create_signer(path: Path) -> Signer:
    """The services' key: made on first use (mode 0600), then read from `path`."""
    if not path.exists():
        signer = Signer.generate(KEY_NAME)
        keys.write_signer(path, signer)
        return signer
    signer = keys.load_signer(path)
    if signer.name != KEY_NAME:
        raise ServiceError(f"密钥文件 {path} 属于“{signer.name}”，不是企业服务的签名密钥“{KEY_NAME}”；"
                           "请勿把审计日志等其他用途的密钥放在这里（移走该文件后会自动生成新密钥）。")
    return signer


def published_key(path: Path) -> str:
    """The verifier key of the local signing key, without making one (verification never signs)."""
    if not path.exists():
        raise ServiceError(f"本机没有企业服务签名密钥 {path}（还没有签发过企业码或信用报告）；"
                           "请用 --key 提供签发机关公布的验证公钥（zhida code key 打印）。")
    return load_or_create_signer(path).verifier()


@dataclass(frozen=True)
class PublicKey:
    """A published verifier key, parsed."""

    name: str
    key_id: str
    key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        verifier = Verifier.from_text(text)    # checks the form and that the id belongs to the key
        return cls(verifier.name, text.strip().split("+", 2)[1], Ed25519PublicKey.from_public_bytes(verifier.public))


def key_id(signer: Signer) -> str:
    return signer.key_id.hex()


def _message(domain: str, text: str) -> bytes:
    return f"{domain}\n{text}".encode()


def sign(signer: Signer, domain: str, text: str) -> str:
    """The signature of `text` in `domain`, as unpadded base64url."""
    return b64url(signer.key.sign(_message(domain, text)))


def verify(published: Sequence[str], signed_by: str, domain: str, text: str, signature: str, *, what: str) -> PublicKey:
    """Check a signature made by the key with id `signed_by`, among the published verifier keys;
    returns that key. Raises `VerificationFailed` with a message naming `what` was checked."""
    if not _KEY_ID.match(signed_by):
        raise VerificationFailed(f"{what}中的密钥编号“{signed_by[:16]}”不对：应为 8 位十六进制数字；"
                                 f"{what}可能被改动过。")
    candidates = [PublicKey.parse(k) for k in published]
    key = next((k for k in candidates if k.key_id == signed_by), None)
    if key is None:
        have = "、".join(k.key_id for k in candidates) or "无"
        raise VerificationFailed(f"{what}由编号 {signed_by} 的密钥签发，而提供的验证公钥编号是 {have}；"
                                 f"请使用签发机关公布的编号为 {signed_by} 的验证公钥核验（编号被改动时也会这样）。")
    raw = unb64url(signature, what=f"{what}的签名")
    if len(raw) != 64:
        raise VerificationFailed(f"{what}的签名长度不对（{len(raw)} 字节，应为 64 字节）；{what}可能被截断或改动。")
    try:
        key.key.verify(raw, _message(domain, text))
    except InvalidSignature:
        raise VerificationFailed(f"{what}的签名不成立：内容被改动过，或不是由该密钥签发；请勿采信。") from None
    return key


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str, *, what: str) -> bytes:
    """Strict decoding: only the base64url alphabet, and `text` must be the canonical encoding."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise VerificationFailed(f"{what}不是有效的 base64url 编码；可能被改动过。")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:
        raise VerificationFailed(f"{what}的编码不规范（末位字符被改动过）；请勿采信。")
    return raw
