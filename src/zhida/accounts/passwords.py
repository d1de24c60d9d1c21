"""Local passwords: argon2id hashes (argon2-cffi), and the rule a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from zhida.accounts.errors import AccountError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_LENGTH = 10


def check_password_rule(password: str) -> None:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"至少 {MIN_LENGTH} 个字符（现为 {len(password)} 个）")
    if password.isdigit() or password.isalpha():
        problems.append("须同时包含字母和数字（或其他符号）")
    if problems:
        raise AccountError("密码不符合要求：" + "；".join(problems) + "。请换一个更长、更复杂的密码。")


def hash_password(password: str) -> str:
    check_password_rule(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
