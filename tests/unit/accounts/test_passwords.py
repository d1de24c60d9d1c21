"""Local passwords: argon2id hashes and the rule a new password must meet."""

import pytest
from argon2 import PasswordHasher

from zhida.accounts.errors import AccountError
from zhida.accounts.passwords import (
    check_password_rule,
    hash_password,
    needs_rehash,
    rehash_password,
    spend_verification_time,
    verify_password,
)


def test_passwords_are_argon2id_hashes_verified_only_by_the_same_password():
    h = hash_password("tiger-lily-42")
    assert h.startswith("$argon2id$") and verify_password(h, "tiger-lily-42")
    assert not verify_password(h, "tiger-lily-43") and not verify_password("not a hash", "x")
    assert hash_password("tiger-lily-42") != h   # salted


@pytest.mark.parametrize("bad", ["short1", "1234567890123", "onlyletterslong"])
def test_short_all_digit_and_all_letter_passwords_are_refused_with_the_reason(bad):
    with pytest.raises(AccountError, match="密码不符合要求"):
        check_password_rule(bad)
    with pytest.raises(AccountError, match="密码不符合要求"):
        hash_password(bad)


def test_a_hash_made_with_weaker_parameters_needs_a_rehash_and_a_rehash_ignores_the_rule():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("old-short")
    assert needs_rehash(weak) and verify_password(weak, "old-short")
    fresh = rehash_password("old-short")   # accepted when it was set: a login must not fail on the rule
    assert not needs_rehash(fresh) and verify_password(fresh, "old-short")


def test_the_unknown_user_path_verifies_against_a_throwaway_hash():
    spend_verification_time("whatever-1")   # no error, no result: it only takes the time
