"""Signing keys on disk: the signed-note private key text in a file readable only by its owner."""

from __future__ import annotations

from pathlib import Path

from zhida.audit.note import NoteError, Signer


def load_signer(path: Path) -> Signer:
    try:
        return Signer.from_text(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoteError(f"找不到签名私钥 {path}；用 zhida audit keygen 生成，或设置 ZHIDA_AUDIT_KEY。") from None


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The log's key: made on first use (mode 0600). An existing key must carry `name`."""
    if path.exists():
        signer = load_signer(path)
        if signer.name != name:
            raise NoteError(f"签名私钥 {path} 属于“{signer.name}”，而设置的日志名称是“{name}”；"
                            "请把 ZHIDA_AUDIT_ORIGIN 改回原名称（检查点的名称不能中途更改）。")
        return signer
    signer = Signer.generate(name)
    write_signer(path, signer)
    return signer


def write_signer(path: Path, signer: Signer) -> None:
    if path.exists():
        raise NoteError(f"{path} 已存在，不覆盖已有的私钥；请换一个文件名。")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(signer.to_text() + "\n", encoding="utf-8")
