"""The Merkle tree against RFC 6962's reference vectors (certificate-transparency's test data:
the eight leaves below, the tree heads of sizes 0–8, inclusion and consistency proofs), and
against the RFC's recursive definitions on every tree up to 40 leaves; tampered proofs fail."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhida.audit.merkle import (
    SHA256,
    SM3,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)

DATA = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
LEAVES = [SHA256.leaf(d) for d in DATA]
ROOTS = [bytes.fromhex(x) for x in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
# (0-based leaf index, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def mth(leaves):
    """RFC 6962 §2.1 literally: split at the largest power of two smaller than n."""
    if not leaves:
        return SHA256.empty()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return SHA256.node(mth(leaves[:k]), mth(leaves[k:]))


def flip(digest: bytes) -> bytes:
    return bytes([digest[0] ^ 1]) + digest[1:]


@pytest.mark.parametrize("size", range(9))
def test_tree_heads_are_the_reference_ones(size):
    assert root(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_are_the_reference_ones_and_verify(index, size, path):
    proof = inclusion_proof(index, LEAVES[:size])
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(index, size, LEAVES[index], proof, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_are_the_reference_ones_and_verify(first, second, path):
    proof = consistency_proof(first, LEAVES[:second])
    assert [p.hex() for p in proof] == path
    assert verify_consistency(first, second, proof, ROOTS[first], ROOTS[second])


def test_every_inclusion_and_consistency_proof_up_to_forty_leaves_verifies_and_tampering_fails():
    leaves = [SHA256.leaf(bytes([i, i * 7 % 256])) for i in range(40)]
    for n in range(1, len(leaves) + 1):
        tree = leaves[:n]
        head = root(tree)
        assert head == mth(tree)
        for i in range(n):
            proof = inclusion_proof(i, tree)
            assert verify_inclusion(i, n, tree[i], proof, head)
            assert not verify_inclusion(i, n, flip(tree[i]), proof, head)
            if proof:
                assert not verify_inclusion(i, n, tree[i], [flip(proof[0]), *proof[1:]], head)
                assert not verify_inclusion(i, n, tree[i], proof[:-1], head)
        for m in range(1, n + 1):
            proof = consistency_proof(m, tree)
            assert verify_consistency(m, n, proof, root(tree[:m]), head)
            if m < n:
                assert not verify_consistency(m, n, proof, flip(root(tree[:m])), head)
                assert not verify_consistency(m, n, proof, root(tree[:m]), flip(head))
                assert not verify_consistency(m, n, [flip(proof[0]), *proof[1:]], root(tree[:m]), head)


@given(st.lists(st.binary(max_size=12), min_size=1, max_size=70), st.data())
def test_proofs_verify_on_any_log(data_list, data):
    leaves = [SHA256.leaf(d) for d in data_list]
    n = len(leaves)
    i = data.draw(st.integers(0, n - 1))
    m = data.draw(st.integers(1, n))
    assert root(leaves) == mth(leaves)
    assert verify_inclusion(i, n, leaves[i], inclusion_proof(i, leaves), root(leaves))
    assert verify_consistency(m, n, consistency_proof(m, leaves), root(leaves[:m]), root(leaves))


def test_sm3_is_the_national_standard_hash_and_gives_another_tree():
    # GB/T 32905-2016, example A.1
    assert SM3.digest(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    leaves = [SM3.leaf(d) for d in DATA]
    assert root(leaves, SM3) != ROOTS[8]
    assert verify_inclusion(3, 8, leaves[3], inclusion_proof(3, leaves, SM3), root(leaves, SM3), SM3)
