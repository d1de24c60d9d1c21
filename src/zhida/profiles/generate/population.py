"""The enterprises of the synthetic city and their yearly figures, vectorised with numpy.

Sizes are heavy-tailed (log-normal employees with a Pareto tail); revenue follows employees
through an industry productivity, tax follows revenue, assets follow revenue.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from zhida.profiles import uscc as uscc_rules
from zhida.profiles.generate.vocab import DISTRICTS, ENTITY_TYPES, GIVEN, INDUSTRIES, STREETS, SURNAMES, WORDS

EPOCH = date(1970, 1, 1)
USCC_SWITCH = date(2015, 10, 1)


def days(d: date) -> int:
    return (d - EPOCH).days


def pick(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _gb11714_values() -> np.ndarray:
    """CHARSET index -> GB 11714 character value (digits 0-9, letters A-Z = 10-35)."""
    return np.array([int(c) if c.isdigit() else ord(c) - 55 for c in uscc_rules.CHARSET])


def make_usccs(rng: np.random.Generator, kind2: np.ndarray, authority: np.ndarray, new_style: np.ndarray) -> list[str]:
    """Valid, unique USCCs: '9' + category + authority code + organization code + check."""
    n = len(kind2)
    vals = np.zeros((n, 18), dtype=np.int64)
    vals[:, 0] = 9
    vals[:, 1] = kind2
    for i in range(6):
        vals[:, 2 + i] = (authority // 10 ** (5 - i)) % 10
    body = np.zeros((n, 8), dtype=np.int64)
    new_idx, old_idx = np.flatnonzero(new_style), np.flatnonzero(~new_style)
    u_new = rng.choice(31**6, size=len(new_idx), replace=False)
    body[new_idx, 0], body[new_idx, 1] = uscc_rules.CHARSET.index("M"), uscc_rules.CHARSET.index("A")
    for i in range(6):
        body[new_idx, 2 + i] = (u_new // 31 ** (5 - i)) % 31
    u_old = rng.choice(9 * 10**7, size=len(old_idx), replace=False) + 10**7
    for i in range(8):
        body[old_idx, i] = (u_old // 10 ** (7 - i)) % 10
    gb = _gb11714_values()[body]
    c9 = 11 - (gb * np.asarray(uscc_rules.ORG_WEIGHTS)).sum(axis=1) % 11
    check9 = np.where(c9 == 10, uscc_rules.CHARSET.index("X"), np.where(c9 == 11, 0, c9))
    vals[:, 8:16] = body
    vals[:, 16] = check9
    vals[:, 17] = uscc_rules.check_chars_array(vals[:, :17])
    return uscc_rules.codes_from_values(vals)


def _words(rng: np.random.Generator, vocab: list[str], n: int) -> pl.Series:
    return pl.Series(vocab).gather(rng.integers(0, len(vocab), n))


def make_firms(rng: np.random.Generator, n: int, as_of: date) -> pl.DataFrame:
    kind2 = rng.choice([1, 2, 3], size=n, p=[0.80, 0.17, 0.03])
    dist = pick(rng, n, [d[4] for d in DISTRICTS])
    ind_firm = pick(rng, n, [i[2] for i in INDUSTRIES])
    ind_indiv = pick(rng, n, [i[4] for i in INDUSTRIES])
    ind_coop = rng.choice([i for i, x in enumerate(INDUSTRIES) if x[0][0] == "A"], size=n)
    ind = np.where(kind2 == 2, ind_indiv, np.where(kind2 == 3, ind_coop, ind_firm))
    district = np.array([int(d[0]) for d in DISTRICTS])[dist]
    authority = np.where((kind2 == 1) & (rng.random(n) < 0.15), 330300, district)
    age_days = np.minimum(rng.exponential(np.where(kind2 == 2, 5.0, 8.5) * 365.25), 40 * 365.25).astype(np.int64)
    est = np.maximum(days(as_of) - 30 - age_days, days(date(1985, 1, 1)))
    usccs = make_usccs(rng, kind2, authority, est >= days(USCC_SWITCH))
    # employees: log-normal body, Pareto tail for the largest firms
    emp = np.floor(np.exp(rng.normal(1.7, 1.25, n))) + 1
    tail = rng.random(n) < 0.01
    emp = np.where(tail, emp * (1 + rng.pareto(1.2, n) * 5), emp)
    emp = np.where(kind2 == 2, 1 + rng.poisson(0.8, n), np.where(kind2 == 3, 3 + rng.poisson(3, n), emp))
    emp = np.minimum(emp, 30000).astype(np.int64)
    prod = np.array([i[3] for i in INDUSTRIES], dtype=np.float64)[ind] * np.exp(rng.normal(0, 0.5, n))
    status_draw = rng.random(n)
    status = np.where(status_draw < 0.04, "注销", np.where(status_draw < 0.06, "吊销", "存续"))
    cancel = est + ((days(as_of) - 1 - est) * rng.uniform(0.3, 1.0, n)).astype(np.int64)
    cap_wan = np.round(np.exp(rng.normal(np.log(50 + emp * 8.0), 0.8)), -1).clip(10, None)
    cap_wan = np.where(kind2 == 2, np.nan, cap_wan)
    etype = np.array([e[0] for e in ENTITY_TYPES])[pick(rng, n, [e[1] for e in ENTITY_TYPES])]
    etype = np.where(kind2 == 2, "9500", np.where(kind2 == 3, "9100", etype))
    word = _words(rng, WORDS, n) + _words(rng, WORDS, n)
    ind_word = pl.Series([i[1] for i in INDUSTRIES]).gather(ind)
    dname = pl.Series([d[1] for d in DISTRICTS]).gather(dist)
    suffix = pl.Series(np.where(kind2 == 2, "店", np.where(kind2 == 3, "专业合作社",
                       np.where(etype == "1200", "股份有限公司", "有限公司"))))
    name = pl.Series(np.where(kind2 == 2, "", "温州")) + word + ind_word + suffix
    name = pl.Series(np.where(kind2 == 2, (dname + word + ind_word + suffix).to_numpy(), name.to_numpy()))
    address = ("浙江省温州市" + dname + _words(rng, STREETS, n)
               + pl.Series(rng.integers(1, 999, n)).cast(pl.String) + "号")
    return pl.DataFrame({
        "uscc": usccs,
        "kind": kind2,
        "name": name,
        "entity_type": etype,
        "district": district.astype(str),
        "dist_idx": dist,
        "industry": pl.Series([i[0] for i in INDUSTRIES]).gather(ind),
        "established": pl.Series(est).cast(pl.Date),
        "status": status,
        "cancelled": pl.Series(cancel).cast(pl.Date).set(pl.Series(status == "存续"), None),
        "employees": emp,
        "productivity": prod,
        "capital_wan": pl.Series(cap_wan).fill_nan(None),
        "legal_rep": _words(rng, SURNAMES, n) + _words(rng, GIVEN, n) + _words(rng, GIVEN, n),
        "address": address,
        "wage": (np.array([4500.0])[0] + prod * 20 + rng.normal(0, 600, n)).clip(2500, 30000),
    })


def make_years(rng: np.random.Generator, firms: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """One row per firm and year it existed: employees, revenue, assets, taxable income (fen)."""
    n, out = firms.height, []
    emp0 = firms["employees"].to_numpy().astype(np.float64)
    rev0 = emp0 * firms["productivity"].to_numpy() * 10_000
    est_year = firms["established"].dt.year().to_numpy()
    growth = rng.normal(0.06, 0.18, (n, len(years))).clip(-0.6, 1.5)
    margin = rng.normal(0.05, 0.07, n)
    asset_ratio = np.exp(rng.normal(np.log(0.9), 0.5, n)) * np.where(
        firms["industry"].str.starts_with("K70").to_numpy(), 3.0, 1.0)
    for k, y in enumerate(sorted(years, reverse=True)):
        factor = np.prod(1 + growth[:, :k], axis=1) if k else np.ones(n)
        rev = rev0 / factor
        emp = np.maximum(1, np.round(emp0 / factor ** 0.4)).astype(np.int64)
        alive = est_year <= y
        out.append(pl.DataFrame({
            "uscc": firms["uscc"], "year": y, "alive": alive, "employees": emp,
            "revenue": np.round(rev * 100).astype(np.int64),
            "assets": np.round(rev * asset_ratio * 100).astype(np.int64),
            "taxable": np.round(rev * (margin + rng.normal(0, 0.02, n)) * 100).astype(np.int64),
        }))
    df = pl.concat(out).filter(pl.col("alive")).drop("alive")
    # a firm's first year is partial
    return df.sort("uscc", "year")
