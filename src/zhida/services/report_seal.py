"""The seal of a report PDF: a signature over every byte of the file except itself.

The PDF is written with its Keywords set to `zhida-seal/v1 <verification code> <86 zeros>`. The
seal's signature covers the file's SHA-256 with those 86 characters still zeros, then takes
their place (same length, so no offset in the file moves). To check a file: find the one
`zhida-seal/v1 ` record, put the zeros back, hash, and verify the signature — any other changed
byte changes the hash. The signed text is `<verification code>\\n<hex SHA-256>` in the domain
`zhida-credit-report-file/v1`.

The report's content (`credit-report.json`) is attached uncompressed, so its bytes can be found
without a PDF parser: the one JSON object starting `{"format":"zhida-credit-report/v1"`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from zhida.audit.note import Signer
from zhida.services import signing
from zhida.services.credit_content import ATTACHMENT, FORMAT
from zhida.services.errors import VerificationFailed

DOMAIN = "zhida-credit-report-file/v1"
MARKER = b"zhida-seal/v1 "
PLACEHOLDER = b"0" * signing.SIGNATURE_CHARS
CONTENT_START = b'{"format":"' + FORMAT.encode() + b'"'


def keywords(code: str) -> str:
    """The Keywords text a report is rendered with, before sealing."""
    return f"{MARKER.decode()}{code} {PLACEHOLDER.decode()}"


@dataclass(frozen=True)
class Seal:
    code: str              # the verification code, as written in the file
    signature: str         # the seal's signature (base64url)
    digest: str            # hex SHA-256 of the file with the signature replaced by the placeholder


def seal(pdf: bytes, signer: Signer) -> bytes:
    """Fill in the seal of a freshly rendered report."""
    found, start = _find(pdf)
    if found.signature.encode() != PLACEHOLDER:
        raise ValueError("the PDF is already sealed")
    signature = signing.sign(signer, DOMAIN, f"{found.code}\n{found.digest}")
    return pdf[:start] + signature.encode() + pdf[start + len(PLACEHOLDER):]


def read_seal(pdf: bytes) -> Seal:
    return _find(pdf)[0]


def _find(pdf: bytes) -> tuple[Seal, int]:
    count = pdf.count(MARKER)
    if count == 0:
        raise VerificationFailed("这不是本平台出具的信用报告：文件中没有验证信息（zhida-seal）；"
                                 "请核对文件，或用报告上的验证码核验。")
    if count > 1:
        raise VerificationFailed("文件中有多处验证信息（zhida-seal），文件被拼接或改动过；请勿采信。")
    begin = pdf.index(MARKER) + len(MARKER)
    end = pdf.find(b")", begin)
    record = pdf[begin:end] if end != -1 else b""
    code, sep, signature = record.rpartition(b" ")
    if not sep or len(signature) != len(PLACEHOLDER) or not record.isascii():
        raise VerificationFailed("文件中的验证信息（zhida-seal）残缺或被改动过；请勿采信。")
    start = begin + len(code) + 1
    digest = hashlib.sha256(pdf[:start] + PLACEHOLDER + pdf[start + len(PLACEHOLDER):]).hexdigest()
    return Seal(code.decode(), signature.decode(), digest), start


def content_bytes(pdf: bytes) -> bytes:
    """The exact bytes of the attached content (credit-report.json)."""
    if pdf.count(CONTENT_START) != 1:
        raise VerificationFailed(f"文件中找不到唯一的报告内容附件（{ATTACHMENT}）；文件可能被改动过。")
    begin = pdf.index(CONTENT_START)
    text = pdf[begin:].decode("utf-8", errors="surrogateescape")
    try:
        _, length = json.JSONDecoder().raw_decode(text)
    except ValueError:
        raise VerificationFailed(f"报告内容附件（{ATTACHMENT}）不是完整的 JSON；文件可能被改动过。") from None
    return text[:length].encode("utf-8", errors="surrogateescape")
