"""Social-insurance months and dated list entries of the synthetic city (vectorised)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from zhida.profiles.generate.population import days


def month_list(as_of: date, n: int) -> list[tuple[int, int]]:
    """The n months before as_of's month, oldest first."""
    y, m, out = as_of.year, as_of.month, []
    for _ in range(n):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        out.append((y, m))
    return out[::-1]


def make_insurance(rng: np.random.Generator, firms: pl.DataFrame, as_of: date, months: int = 24) -> pl.DataFrame:
    """One row per insured employer and month: insured, paid, arrears, claims, hires."""
    kind = firms["kind"].to_numpy()
    emp = firms["employees"].to_numpy()
    covered = ((kind != 2) | ((emp >= 2) & (rng.random(firms.height) < 0.15))) & (rng.random(firms.height) < 0.92)
    f = firms.filter(pl.Series(covered))
    n, ms = f.height, month_list(as_of, months)
    base = np.maximum(1, np.round(f["employees"].to_numpy() * rng.uniform(0.55, 1.0, n)))
    walk = np.exp(np.cumsum(rng.normal(0, 0.025, (n, months)), axis=1))
    season = np.array([0.95 if m == 2 else 1.0 for _, m in ms])
    insured = np.maximum(0, np.round(base[:, None] * walk * season)).astype(np.int64)
    wage = f["wage"].to_numpy()
    due = np.round(insured * wage[:, None]).astype(np.int64)          # fen: 1% of wage in 元
    arrears_firm = rng.random(n) < 0.04
    short = arrears_firm[:, None] & (rng.random((n, months)) < 0.25)
    paid = np.where(short, due // 2, due)
    arrears = np.cumsum(due - paid, axis=1)
    layoff_firm = rng.random(n) < 0.05
    claims = rng.poisson(insured * np.where(layoff_firm, 0.02, 0.002)[:, None])
    hires = rng.poisson(insured * 0.025)
    grads = rng.binomial(hires, 0.12)
    month_start = np.array([days(date(y, m, 1)) for y, m in ms])
    est = f["established"].cast(pl.Int64).to_numpy()
    canc = f["cancelled"].cast(pl.Int64).fill_null(10**7).to_numpy()
    active = (month_start[None, :] >= est[:, None] - 31) & (month_start[None, :] < canc[:, None])
    idx = np.nonzero(active)
    period = np.array([f"{y}{m:02d}" for y, m in ms])
    return pl.DataFrame({
        "uscc": f["uscc"].gather(idx[0]),
        "period": period[idx[1]],
        "insured": insured[idx], "paid": paid[idx], "arrears": arrears[idx],
        "in_full": ~short[idx], "claims": claims[idx], "hires": hires[idx], "grads": grads[idx],
    })


def _dates(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    span = np.maximum(hi - lo, 1)
    return lo + (rng.random(len(lo)) * span).astype(np.int64)


def _entries(uscc: pl.Series, lst: str, listed: np.ndarray, **cols: Any) -> pl.DataFrame:
    df = pl.DataFrame({"uscc": uscc, "list": lst, "listed_on": pl.Series(listed).cast(pl.Date)})
    for k, v in cols.items():
        df = df.with_columns(pl.Series(k, v) if not isinstance(v, str) else pl.lit(v).alias(k))
    return df


def make_lists(rng: np.random.Generator, firms: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Dated entries of every list: 高企, 科小, 专精特新 family, 僵尸, 经营异常, 失信, 处罚."""
    d_asof, y_last = days(as_of), as_of.year - 1
    alive = firms.filter(pl.col("status") == "存续")
    sect = pl.col("industry").str.slice(0, 1)
    tech = alive.filter((pl.col("kind") == 1) & sect.is_in(["C", "I", "M", "D"]) & (pl.col("employees") >= 10))
    out = []
    # 高新技术企业: first certification, then a re-certification every 3 years while renewed
    ht = tech.filter(pl.Series(rng.random(tech.height) < 0.09))
    est_y = ht["established"].dt.year().to_numpy()
    earliest = np.maximum(est_y + 1, 2012)
    first = earliest + (rng.random(ht.height) * (y_last - earliest + 1)).astype(int)
    first = np.minimum(first, y_last)
    renewed = np.ones(ht.height, dtype=bool)
    for k in range(5):
        year = first + 3 * k
        renewed &= (rng.random(ht.height) < 0.8) if k else renewed
        ok = renewed & (year <= y_last)
        if not ok.any():
            break
        listed = np.array([days(date(int(y), 12, 1)) for y in year[ok]]) + rng.integers(0, 20, ok.sum())
        out.append(_entries(ht["uscc"].filter(pl.Series(ok)), "高新技术企业", listed,
                            kind="首次认定" if k == 0 else "重新认定",
                            ref=[f"GR{y}33{rng.integers(0, 10**6):06d}" for y in year[ok]],
                            expires_on=pl.Series(listed + 3 * 365 - 1).cast(pl.Date)))
    # 科技型中小企业: yearly evaluation
    ts = tech.filter((pl.col("employees") < 500) & pl.Series(rng.random(tech.height) < 0.12))
    for y in (y_last - 1, y_last):
        keep = rng.random(ts.height) < 0.85
        listed = days(date(y, 5, 10)) + rng.integers(0, 40, keep.sum())
        out.append(_entries(ts["uscc"].filter(pl.Series(keep)), "科技型中小企业", listed, kind="",
                            ref=[f"{y}3303{i:06d}" for i in rng.integers(0, 10**6, keep.sum())],
                            expires_on=pl.Series([days(date(y, 12, 31))] * int(keep.sum())).cast(pl.Date)))
    # 技术先进型服务企业 (services), and the record of earlier 高企 reward payments (a tag)
    svc = alive.filter((pl.col("kind") == 1) & sect.is_in(["I", "M", "L"]) & (pl.col("employees") >= 20))
    tas = svc.filter(pl.Series(rng.random(svc.height) < 0.04))
    tas_listed = _dates(rng, np.full(tas.height, days(date(2018, 1, 1))), np.full(tas.height, d_asof - 30))
    out.append(_entries(tas["uscc"], "技术先进型服务企业", tas_listed, kind="",
                        ref=[f"JX{i:06d}" for i in rng.integers(0, 10**6, tas.height)],
                        expires_on=pl.Series(tas_listed + 3 * 365 - 1).cast(pl.Date)))
    rewarded = ht.filter(pl.Series((first < y_last) & (rng.random(ht.height) < 0.5)))
    out.append(_entries(rewarded["uscc"], "已获高新技术企业认定奖励",
                        np.full(rewarded.height, days(date(y_last, 6, 30))), kind=""))
    # 专精特新 family (manufacturing)
    mf = tech.filter((sect == "C") & (pl.col("employees") >= 20))
    sp = mf.filter(pl.Series(rng.random(mf.height) < 0.10))
    sp_listed = _dates(rng, np.full(sp.height, days(date(2019, 1, 1))), np.full(sp.height, d_asof - 60))
    out.append(_entries(sp["uscc"], "省专精特新", sp_listed, kind="",
                        expires_on=pl.Series(sp_listed + 3 * 365).cast(pl.Date)))
    giant = rng.random(sp.height) < 0.12
    batches = [(1, date(2019, 6, 6)), (2, date(2020, 11, 13)), (3, date(2021, 7, 19)), (4, date(2022, 8, 8)),
               (5, date(2023, 7, 14)), (6, date(2024, 9, 20))]
    batches = [b for b in batches if b[1] < as_of]
    b_idx = rng.integers(0, len(batches), giant.sum())
    g_listed = np.array([days(batches[i][1]) for i in b_idx], dtype=np.int64)
    out.append(_entries(sp["uscc"].filter(pl.Series(giant)), "专精特新小巨人", g_listed,
                        kind=[f"第{'一二三四五六'[batches[i][0] - 1]}批" for i in b_idx],
                        expires_on=pl.Series(g_listed + 3 * 365).cast(pl.Date)))
    champ = rng.random(sp.height) < 0.05
    out.append(_entries(sp["uscc"].filter(pl.Series(champ)), "省隐形冠军", sp_listed[champ] + 200, kind=""))
    # 僵尸企业 (a tag), 经营异常名录, 严重违法失信名单, 行政处罚
    zombie = alive.filter(pl.Series(rng.random(alive.height) < 0.002) & (pl.col("kind") == 1))
    out.append(_entries(zombie["uscc"], "僵尸企业", np.full(zombie.height, d_asof - 200), kind=""))
    ab = firms.filter(pl.Series(rng.random(firms.height) < 0.03))
    ab_listed = _dates(rng, np.full(ab.height, d_asof - 5 * 365), np.full(ab.height, d_asof - 1))
    removed = np.where(rng.random(ab.height) < 0.6, _dates(rng, ab_listed + 1, np.full(ab.height, d_asof)), -1)
    out.append(_entries(ab["uscc"], "经营异常名录", ab_listed, reason=rng.integers(0, 4, ab.height),
                        removed_on=pl.Series(removed).replace(-1, None).cast(pl.Date)))
    sd = firms.filter(pl.Series(rng.random(firms.height) < 0.002))
    out.append(_entries(sd["uscc"], "严重违法失信名单",
                        _dates(rng, np.full(sd.height, d_asof - 4 * 365), np.full(sd.height, d_asof - 1)),
                        reason=np.full(sd.height, 9)))
    pen = firms.filter(pl.Series(rng.random(firms.height) < 0.02))
    reps = 1 + rng.poisson(0.5, pen.height)
    pu = pen["uscc"].gather(np.repeat(np.arange(pen.height), reps))
    p_listed = _dates(rng, np.full(len(pu), d_asof - 6 * 365), np.full(len(pu), d_asof - 1))
    out.append(_entries(pu, "行政处罚", p_listed, reason=rng.integers(10, 15, len(pu)),
                        expires_on=pl.Series(p_listed + 3 * 365).cast(pl.Date),
                        ref=[f"温市监处罚〔{int(1970 + d // 365.25)}〕{i}号" for i, d in
                             zip(rng.integers(1, 9999, len(pu)), p_listed, strict=True)]))
    df = pl.concat(out, how="diagonal_relaxed")
    # typed even when a tiny city has no entries at all (then every column would be null-typed)
    return df.with_columns(pl.col("uscc").cast(pl.String), pl.col("list").cast(pl.String),
                           pl.col("listed_on").cast(pl.Date).clip(upper_bound=as_of - timedelta(days=1)))
