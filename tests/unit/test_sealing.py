"""Personal data sealed at rest: it opens with the key and the same context only, refuses a
changed or moved value, a wrong key and a plain value, and a rotated key still opens old values."""

import base64

import pytest

from zhida.sealing import Sealer, SealError, mask_account

ACCOUNT = "6222000012345678"


@pytest.fixture
def sealer(tmp_path):
    return Sealer.from_key_file(tmp_path / "keys" / "data.key", create=True)


def test_a_sealed_value_opens_only_with_its_key_and_context(sealer, tmp_path):
    stored = sealer.seal(ACCOUNT, context="offers.account_no")
    assert ACCOUNT not in stored and stored.startswith("zs1:") and Sealer.is_sealed(stored)
    assert sealer.open(stored, context="offers.account_no") == ACCOUNT
    assert sealer.seal(ACCOUNT, context="offers.account_no") != stored        # a fresh nonce each time
    with pytest.raises(SealError, match=r"挪到了别处|改动"):
        sealer.open(stored, context="applications.account_no")
    other = Sealer.from_key_file(tmp_path / "other.key", create=True)
    with pytest.raises(SealError, match="没有该密钥"):
        other.open(stored, context="offers.account_no")
    with pytest.raises(SealError, match="不是加密格式"):
        sealer.open(ACCOUNT, context="offers.account_no")


def test_a_changed_byte_is_refused(sealer):
    prefix, key_id, body = sealer.seal(ACCOUNT, context="c").split(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(SealError, match="改动"):
        sealer.open(f"{prefix}:{key_id}:{base64.b64encode(bytes(raw)).decode()}", context="c")


def test_the_key_file_is_private_and_a_rotated_key_still_opens_old_values(tmp_path):
    path = tmp_path / "data.key"
    old = Sealer.from_key_file(path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    stored = old.seal(ACCOUNT, context="c")
    rotated = Sealer.from_key(bytes(range(32)), old.keys[old.current])   # new key first, old kept
    assert rotated.current != old.current and rotated.open(stored, context="c") == ACCOUNT
    assert rotated.open(rotated.seal("x", context="c"), context="c") == "x"
    with pytest.raises(SealError, match="找不到"):
        Sealer.from_key_file(tmp_path / "missing.key")


def test_an_account_is_shown_by_its_last_four_digits():
    assert mask_account("6222 0000 1234 5678") == "****5678" and mask_account("123") == "****"
