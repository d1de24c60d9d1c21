"""Local passwords: argon2id hashes (argon2-cffi), and the rule a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from zhida.accounts.errors import AccountError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_LENGTH = 10


def check_password_rule(password: str) -> None:
    """A new password: at least MIN_LENGTH characters, not only digits, not only letters."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"至少 {MIN_LENGTH} 个字符（现为 {len(password)} 个）")
    if password.isdigit() or password.isalpha():
        problems.append("须同时包含字母和数字（或其他符号）")
    if problems:
        raise AccountError("密码不符合要求：" + "；".join(problems) + "。请换一个更长、更复杂的密码。")


def hash_password(password: str) -> str:
    """The argon2id hash of a new password (which must meet the rule)."""
    check_password_rule(password)
    return _hasher.hash(password)


def rehash_password(password: str) -> str:
    """A fresh hash of a password just verified at login (no rule: it was accepted when set)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other (older, weaker) parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("zhida-no-such-user")


def spend_verification_time(password: str) -> None:
    """Verify against a throwaway hash, so a login for an unknown user (or one without a local
    password) takes as long as a wrong password and does not reveal which usernames exist."""
    verify_password(_dummy_hash(), password)
