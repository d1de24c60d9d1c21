"""The Merkle tree of RFC 6962 / RFC 9162 §2.1: tree heads, inclusion and consistency proofs.

Leaves are hashed as H(0x00 || data) and interior nodes as H(0x01 || left || right); a tree of
n leaves splits at the largest power of two below n. The hash is SHA-256 by default and SM3
(GB/T 32905) for 国密 deployments; every function takes the `Hasher` so a log never mixes them.

The verifiers (`verify_inclusion`, `verify_consistency`) are the standalone functions a third
party runs: they need only the hashes, the sizes and the proof, never the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gmalg


@dataclass(frozen=True)
class Hasher:
    name: str
    digest: Callable[[bytes], bytes]

    def leaf(self, data: bytes) -> bytes:
        return self.digest(b"\x00" + data)

    def node(self, left: bytes, right: bytes) -> bytes:
        return self.digest(b"\x01" + left + right)

    def empty(self) -> bytes:
        return self.digest(b"")


def _sm3(data: bytes) -> bytes:
    h = gmalg.SM3()
    h.update(data)
    return bytes(h.value())


SHA256 = Hasher("sha256", lambda data: hashlib.sha256(data).digest())
SM3 = Hasher("sm3", _sm3)
HASHERS = {h.name: h for h in (SHA256, SM3)}


def hasher(name: str) -> Hasher:
    try:
        return HASHERS[name]
    except KeyError:
        raise ValueError(f"未知的哈希算法“{name}”；可用：{'、'.join(HASHERS)}。") from None


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes], h: Hasher = SHA256) -> bytes:
    """MTH(D[n]) over leaf hashes (not leaf data)."""
    if not leaves:
        return h.empty()
    level = list(leaves)
    while len(level) > 1:   # pairing left to right and carrying an odd last node up = the RFC's split
        nxt = [h.node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes], h: Hasher = SHA256) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` (0-based) in the tree of `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"叶子序号 {index} 不在 0…{n - 1} 之内。")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k], h), root(leaves[k:], h)]
    return [*inclusion_proof(index - k, leaves[k:], h), root(leaves[:k], h)]


def consistency_proof(m: int, leaves: Sequence[bytes], h: Hasher = SHA256) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first m leaves is a prefix of the tree of `leaves`."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError(f"一致性证明要求 0 < {m} ≤ {n}。")
    return _subproof(m, leaves, True, h)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool, h: Hasher) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves, h)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete, h), root(leaves[k:], h)]
    return [*_subproof(m - k, leaves[k:], False, h), root(leaves[:k], h)]


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root_hash: bytes,
                     h: Hasher = SHA256) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show leaf `index` of a tree of `size` under `root_hash`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h.node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = h.node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes,
                       h: Hasher = SHA256) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of size `first` with `first_root` a prefix of the tree of
    size `second` with `second_root`?"""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:        # a power of two: the first tree is a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = h.node(c, fr), h.node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = h.node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
