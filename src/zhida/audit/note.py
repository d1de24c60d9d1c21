"""Checkpoints as C2SP signed notes (c2sp.org/signed-note, /tlog-checkpoint, /tlog-cosignature).

A checkpoint's body is three lines — the log's origin, the tree size, the base64 root hash —
and each signature is a line `— <key name> <base64(key id ‖ signature)>` after a blank line.
The log signs with Ed25519 (key id = SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]); a department
cosigns as a witness with a timestamped cosignature/v1 (type 0x04, the signed message is
"cosignature/v1\\ntime <t>\\n" followed by the body). Keys are written in the signed-note text
forms: `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>` and `<name>+<id>+<base64(0x01 ‖ key)>`.

`verify_checkpoint` is what a third party runs with the published verifier keys.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zhida.errors import ZhidaError

ED25519, COSIGNATURE_V1 = 0x01, 0x04
DASH = "\u2014 "


class NoteError(ZhidaError):
    """A note or key that is malformed, or whose signatures do not verify."""


def _key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"密钥名称“{name}”不能为空，也不能含空白或“+”；例如 zhida.example/audit。")


@dataclass(frozen=True)
class Signer:
    """A private key and its name: signs checkpoints (the log) or cosigns them (a witness)."""

    name: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("私钥文件格式不对：应为 PRIVATE+KEY+<名称>+<编号>+<base64>（zhida audit keygen 生成）。")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except ValueError:
            raise NoteError("私钥文件中的 base64 部分无法解码；请重新生成密钥。") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("私钥不是 Ed25519 密钥；请用 zhida audit keygen 重新生成。")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != parts[3]:
            raise NoteError(f"私钥文件中的编号 {parts[3]} 与密钥不符；文件可能被改动。")
        return signer

    @property
    def public(self) -> bytes:
        return _raw(self.key.public_key())

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, ED25519, self.public)

    def to_text(self) -> str:
        seed = self.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + seed).decode()}"

    def verifier(self) -> str:
        """The public verifier key, to publish: `<name>+<id>+<base64(0x01 ‖ key)>`."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @classmethod
    def from_text(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"验证公钥“{vkey[:40]}”格式不对：应为 <名称>+<编号>+<base64>。")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise NoteError(f"验证公钥 {parts[0]} 的 base64 部分无法解码。") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError(f"验证公钥 {parts[0]} 不是 Ed25519 公钥。")
        verifier = cls(parts[0], raw[1:])
        if _key_id(verifier.name, ED25519, verifier.public).hex() != parts[1]:
            raise NoteError(f"验证公钥 {parts[0]} 的编号 {parts[1]} 与公钥不符。")
        return verifier


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def sign_text(text: str, signer: Signer) -> str:
    """A signed note of `text` (which ends with a newline)."""
    if not text.endswith("\n"):
        raise NoteError("待签名的正文应以换行结尾。")
    signature = signer.key.sign(text.encode())
    return f"{text}\n{DASH}{signer.name} {base64.b64encode(signer.key_id + signature).decode()}\n"


def sign(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note of a checkpoint."""
    return sign_text(checkpoint.body(), signer)


def cosign(note: str, witness: Signer, timestamp: int) -> str:
    """Add a witness's timestamped cosignature (cosignature/v1) to a signed checkpoint."""
    body, _ = _split(note)
    message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
    key_id = _key_id(witness.name, COSIGNATURE_V1, witness.public)
    value = key_id + struct.pack(">Q", timestamp) + witness.key.sign(message)
    return f"{note}{DASH}{witness.name} {base64.b64encode(value).decode()}\n"


def parse(note: str) -> Checkpoint:
    """The checkpoint a note carries (signatures not checked: see `verify_checkpoint`)."""
    body, _ = _split(note)
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("检查点正文应有三行：日志名称、树大小、根哈希。")
    origin, size, root = lines[:3]
    if not size.isdigit():
        raise NoteError(f"检查点的树大小“{size}”不是非负整数。")
    try:
        digest = base64.b64decode(root, validate=True)
    except ValueError:
        raise NoteError(f"检查点的根哈希“{root}”不是 base64。") from None
    return Checkpoint(origin, int(size), digest)


def verify_checkpoint(note: str, log_key: str, witness_keys: tuple[str, ...] = ()) -> tuple[Checkpoint, list[str]]:
    """Check a signed checkpoint with the log's verifier key (required) and any witnesses'
    keys (each listed witness must have cosigned). Returns the checkpoint and the names whose
    signatures verified; raises NoteError otherwise."""
    body, lines = _split(note)
    log = Verifier.from_text(log_key)
    witnesses = [Verifier.from_text(k) for k in witness_keys]
    verified: list[str] = []
    for name, value in lines:
        if name == log.name and value[:4] == _key_id(log.name, ED25519, log.public):
            try:
                Ed25519PublicKey.from_public_bytes(log.public).verify(value[4:], body.encode())
            except InvalidSignature:
                raise NoteError(f"日志 {log.name} 对检查点的签名不成立：检查点被改动或不是该日志签发。") from None
            verified.append(name)
        for w in witnesses:
            if name == w.name and value[:4] == _key_id(w.name, COSIGNATURE_V1, w.public) and len(value) == 76:
                timestamp = struct.unpack(">Q", value[4:12])[0]
                message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
                try:
                    Ed25519PublicKey.from_public_bytes(w.public).verify(value[12:], message)
                except InvalidSignature:
                    raise NoteError(f"见证方 {w.name} 的联署签名不成立。") from None
                verified.append(name)
    if log.name not in verified:
        raise NoteError(f"检查点上没有日志 {log.name} 的有效签名。")
    missing = [w.name for w in witnesses if w.name not in verified]
    if missing:
        raise NoteError(f"检查点缺少见证方 {'、'.join(missing)} 的联署签名。")
    return parse(note), verified


def _split(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    body, sep, rest = note.partition("\n\n")
    if not sep:
        raise NoteError("这不是签名检查点：正文与签名之间应有一个空行。")
    signatures = []
    for line in rest.splitlines():
        if not line.startswith(DASH):
            raise NoteError(f"签名行应以“— ”开头：{line[:40]}")
        name, _, value = line[len(DASH):].rpartition(" ")
        try:
            signatures.append((name, base64.b64decode(value, validate=True)))
        except ValueError:
            raise NoteError(f"签名行 {name} 的签名不是 base64。") from None
    return body + "\n", signatures
