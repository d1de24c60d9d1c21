"""How each engine's pairs agree with the exact expected outcome (bench/truth.py)."""

from __future__ import annotations

import numpy as np

import truth as truth_mod


def _sorted_by_key(pairs: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    keys = pairs["clause"].astype(np.int64) * n + pairs["row"]
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def compare_zhida(t: truth_mod.Truth, z: dict[str, np.ndarray], n: int) -> dict[str, int]:
    """Zhida's pairs against the exact expected outcome."""
    zk, order = _sorted_by_key(z, n)
    tk = t.keys(n)  # already sorted
    status = z["status"][order]
    amount = z["amount_fen"][order]
    same_keys = len(zk) == len(tk) and bool(np.array_equal(zk, tk))
    out = {
        "zhida_eligible_pairs": int(np.count_nonzero(status == "eligible")),
        "zhida_unknown_pairs": int(np.count_nonzero(status == "unknown")),
        "zhida_pairs_not_expected": len(np.setdiff1d(zk, tk, assume_unique=True)),
        "zhida_pairs_missing": len(np.setdiff1d(tk, zk, assume_unique=True)),
    }
    if same_keys:
        expected_eligible = t.status == truth_mod.ELIGIBLE
        eligible = status == "eligible"
        unknown = status == "unknown"
        both = expected_eligible & eligible
        out |= {
            "zhida_status_mismatches": int(np.count_nonzero(eligible != expected_eligible)),
            "zhida_amount_mismatches": int(np.count_nonzero(amount[both] != t.amount_fen[both])),
            "unknown_amount_pairs": int(np.count_nonzero(
                unknown & (t.status == truth_mod.UNKNOWN_AMOUNT))),
            "unknown_condition_pairs": int(np.count_nonzero(
                unknown & (t.status == truth_mod.UNKNOWN_CONDITION))),
        }
    return out


def compare_openfisca(t: truth_mod.Truth, o: dict[str, np.ndarray], z: dict[str, np.ndarray],
                      n: int) -> dict[str, float]:
    """OpenFisca's pairs against the exact outcome under its own missing-value rules (its
    eligible pairs should be exactly those whose condition is true), and against Zhida."""
    ok, order = _sorted_by_key(o, n)
    of_amount = o["amount"][order].astype(np.float64)  # yuan, from float32
    cond = t.status != truth_mod.UNKNOWN_CONDITION
    tk = t.keys(n)[cond]
    of_only = np.setdiff1d(ok, tk, assume_unique=True)
    truth_only = np.setdiff1d(tk, ok, assume_unique=True)
    in_t = np.isin(ok, tk, assume_unique=True)
    exact = t.amount_fen_zero_filled[cond][np.isin(tk, ok, assume_unique=True)]
    of_fen = np.floor(of_amount[in_t] * 100 + 0.5).astype(np.int64)  # half-up to fen
    off_rounded = int(np.count_nonzero(of_fen != exact))
    off_raw = int(np.count_nonzero(np.abs(of_amount[in_t] - exact / 100) >= 0.01))

    # Zhida's decision: its eligible pairs, and its unknown pairs whose condition holds
    # (amount unknown). Its other unknowns have a missing condition input, which OpenFisca
    # reads as NaN and so as not eligible.
    zk, zorder = _sorted_by_key(z, n)
    all_tk = t.keys(n)
    pos = np.minimum(np.searchsorted(all_tk, zk), len(all_tk) - 1)
    found = all_tk[pos] == zk
    t_status = np.where(found, t.status[pos], -1)
    zstatus = z["status"][zorder]
    z_true = (zstatus == "eligible") | ((zstatus == "unknown")
                                        & (t_status == truth_mod.UNKNOWN_AMOUNT))
    zt = zk[z_true]
    both = np.isin(ok, zk[zstatus == "eligible"], assume_unique=True)
    z_fen = z["amount_fen"][zorder][zstatus == "eligible"][
        np.isin(zk[zstatus == "eligible"], ok, assume_unique=True)]
    of_both_fen = np.floor(of_amount[both] * 100 + 0.5).astype(np.int64)
    return {
        "openfisca_eligible_pairs": len(ok),
        "openfisca_decision_flips": len(of_only) + len(truth_only),
        "openfisca_flips_eligible_but_should_not": len(of_only),
        "openfisca_flips_not_eligible_but_should": len(truth_only),
        "openfisca_amounts_off_by_1fen_or_more": off_rounded,
        "openfisca_amounts_off_share": off_rounded / max(len(exact), 1),
        "openfisca_amounts_abs_diff_ge_0_01_yuan": off_raw,
        "openfisca_amounts_abs_diff_share": off_raw / max(len(exact), 1),
        "openfisca_zero_amount_pairs": int(np.count_nonzero(o["amount"] == 0)),
        "decisions_differ_zhida_vs_openfisca": len(np.setxor1d(ok, zt, assume_unique=True)),
        "amounts_differ_zhida_vs_openfisca": int(np.count_nonzero(of_both_fen != z_fen)),
    }
