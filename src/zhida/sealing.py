"""Personal data at rest: bank account numbers (and other personal fields) sealed with a key
from settings, so a copy of the database or a backup does not carry them in plain text.

    sealer = Sealer.from_key_file(path)            # entrypoints load the key (settings)
    stored = sealer.seal("6222000012345678", context="offers.account_no")
    sealer.open(stored, context="offers.account_no")   # → the number, for the bank file only

AES-256-GCM from `cryptography`: authenticated, so a changed byte or a value moved to another
column (the context is bound as associated data) fails to open rather than decrypting to
garbage. The stored text is `zs1:<key id>:<base64(nonce ‖ ciphertext)>`; the key id lets a
deployment rotate keys (the old one kept for opening). Masked forms for display are in
`mask_account`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhida.errors import ZhidaError

PREFIX = "zs1"


class SealError(ZhidaError):
    """A sealed value that cannot be opened (wrong key, changed, or moved), or a bad key file."""


@dataclass(frozen=True)
class Sealer:
    keys: dict[str, bytes]    # key id → 32-byte key; the first is used to seal
    current: str

    @classmethod
    def from_key(cls, key: bytes, *older: bytes) -> Sealer:
        for k in (key, *older):
            if len(k) != 32:
                raise SealError("数据加密密钥应为 32 字节（AES-256）；请用 zhida 生成的密钥文件。")
        keys = {_key_id(k): k for k in (key, *older)}
        return cls(keys, _key_id(key))

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool = False) -> Sealer:
        """The key in `path` (base64, one key per line; the first seals, the others only open).
        With `create`, a missing file is made with a new key (mode 0600)."""
        if not path.exists():
            if not create:
                raise SealError(f"找不到数据加密密钥 {path}；请恢复该文件或设置 ZHIDA_DATA_KEY。")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n", encoding="ascii")
        try:
            keys = [base64.b64decode(line.strip(), validate=True)
                    for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
        except (ValueError, UnicodeDecodeError):
            raise SealError(f"数据加密密钥文件 {path} 格式不对（每行一个 base64 密钥）。") from None
        if not keys:
            raise SealError(f"数据加密密钥文件 {path} 是空的。")
        return cls.from_key(keys[0], *keys[1:])

    def seal(self, text: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, text.encode(), context.encode())
        return f"{PREFIX}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, *, context: str) -> str:
        prefix, _, rest = stored.partition(":")
        key_id, _, body = rest.partition(":")
        if prefix != PREFIX or not body:
            raise SealError(f"{context} 中的值不是加密格式；请检查数据是否被直接改写。")
        if key_id not in self.keys:
            raise SealError(f"{context} 的值由密钥 {key_id} 加密，当前没有该密钥；请在密钥文件中保留旧密钥。")
        raw = base64.b64decode(body)
        try:
            return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SealError(f"{context} 的加密值无法解开：已被改动，或被挪到了别处。") from None

    @staticmethod
    def is_sealed(stored: str | None) -> bool:
        return bool(stored) and str(stored).startswith(PREFIX + ":")


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"zhida-data-key\n" + key).hexdigest()[:8]


def mask_account(number: str) -> str:
    """A bank account number as every page, log and export shows it: the last four digits."""
    digits = number.replace(" ", "")
    return f"****{digits[-4:]}" if len(digits) > 4 else "****"
