"""Feeds for employment programmes, monthly tax and business-premises leases.

These carry the facts the policy pack needs beyond the core registers: 扩岗 and 吸纳就业
counts, 2022 留工培训 headcounts, monthly tax receipts, 六税两费, and lease contracts with the
lessor's ownership (房租减免) and the 2022 risk-county flag.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from zhida.profiles.generate.feeds import yuan

# Districts treated as having had a 中高风险 area in 2022 (synthetic, for the demo only).
RISK_DISTRICTS_2022 = ("330302", "330304", "330381", "330382")


def program_years(as_of: date) -> list[int]:
    return list(range(min(2022, as_of.year - 3), as_of.year))


def hrss_year(ins: pl.DataFrame, firms: pl.DataFrame, as_of: date, rng: np.random.Generator) -> pl.DataFrame:
    """One row per insured employer and year (the current year to date included): programme
    counts the 人社 system computes."""
    years = [*program_years(as_of), as_of.year]
    base = ins.group_by("uscc").agg(pl.col("insured").mean().alias("avg"), pl.col("grads").sum().alias("g"))
    base = base.join(firms.select("uscc", "kind", "district"), on="uscc")
    n = base.height
    dispatch = rng.random(n) < 0.01
    licence = np.char.add("浙劳派", rng.integers(10**9, 10**10, n).astype(str))
    out = []
    for y in years:
        share = (as_of.month - 1) / 12 if y == as_of.year else 1.0  # the current year so far
        grads = rng.poisson((base["g"].to_numpy() / 2 + 0.05) * share)
        young = rng.poisson(base["avg"].to_numpy() * 0.01 * share)
        one = grads + young
        three = rng.binomial(one, 0.8)
        absorbed = rng.binomial(one, 0.1)
        paid = np.round(grads * rng.uniform(6000, 14000, n) * 100).astype(np.int64)
        risk = base["district"].is_in(list(RISK_DISTRICTS_2022)).to_numpy() & (y == 2022)
        covid = np.where(risk, np.maximum(1, np.round(base["avg"].to_numpy())), -1).astype(np.int64)
        operator = np.where(base["kind"].to_numpy() == 2, rng.random(n) < 0.6, rng.random(n) < 0.05)
        out.append(pl.DataFrame({
            "统一社会信用代码": base["uscc"], "年度": str(y),
            "扩岗补助合格人数_满1个月": one.astype(str), "扩岗补助合格人数_满3个月": three.astype(str),
            "已享吸纳就业补贴人数": absorbed.astype(str),
            "吸纳高校毕业生单位缴费额": pl.select(yuan(pl.lit(pl.Series(paid)))).to_series(),
            "受疫情影响当月参保人数": pl.Series(covid).cast(pl.String).replace("-1", ""),
            "实际经营者个人缴社保": np.where(operator, "是", "否"),
            "劳务派遣许可证号": np.where(dispatch, licence, ""),
        }))
    return pl.concat(out)


def tax_month(firms: pl.DataFrame, years: pl.DataFrame, as_of: date, rng: np.random.Generator,
              months: int = 24) -> pl.DataFrame:
    """Monthly tax receipts of taxpayers that paid tax (months without receipts are omitted)."""
    from zhida.profiles.generate.records import month_list

    ms = month_list(as_of, months)
    last = years.filter(pl.col("year") == pl.col("year").max()).select("uscc", "revenue")
    f = firms.select("uscc", "established", "cancelled").join(last, on="uscc")
    n = f.height
    monthly = f["revenue"].to_numpy() * 0.04 / 12
    amounts = np.round(monthly[:, None] * np.exp(rng.normal(0, 0.3, (n, months)))).astype(np.int64)
    paid = rng.random((n, months)) < 0.9
    start = np.array([(date(y, m, 1) - date(1970, 1, 1)).days for y, m in ms])
    est = f["established"].cast(pl.Int64).to_numpy()
    canc = f["cancelled"].cast(pl.Int64).fill_null(10**7).to_numpy()
    active = paid & (start[None, :] >= est[:, None]) & (start[None, :] < canc[:, None]) & (amounts > 0)
    idx = np.nonzero(active)
    period = np.array([f"{y}-{m:02d}" for y, m in ms])
    return pl.DataFrame({
        "纳税人识别号": f["uscc"].gather(idx[0]), "所属期": period[idx[1]],
        "实缴税款": pl.select(yuan(pl.lit(pl.Series(amounts[idx])))).to_series(),
    })


def lease(firms: pl.DataFrame, as_of: date, rng: np.random.Generator) -> pl.DataFrame:
    """Registered lease contracts of business premises, one row per lessee and year."""
    service = ~firms["industry"].str.slice(0, 1).is_in(["A", "B", "C", "D", "E"]).to_numpy()
    small = firms["employees"].to_numpy() < 100
    p = np.where(service & small, 0.45, 0.1)
    f = firms.filter(pl.Series(rng.random(firms.height) < p) & (pl.col("status") == "存续"))
    n = f.height
    state = rng.random(n) < 0.12
    rent = np.round(np.exp(rng.normal(np.log(6000), 0.8, n)) * 100).astype(np.int64)
    sole = rng.random(n) < 0.95
    out = []
    for y in sorted({2022, as_of.year - 1}):
        risk = f["district"].is_in(list(RISK_DISTRICTS_2022)).to_numpy() & (y == 2022)
        out.append(pl.DataFrame({
            "承租方统一社会信用代码": f["uscc"], "备案年度": str(y),
            "出租方性质": np.where(state, rng.choice(["国有", "国有控股"], n), "非国有"),
            "月租金": pl.select(yuan(pl.lit(pl.Series(rent)))).to_series(),
            "所在区县列为中高风险地区": np.where(risk, "是", "否"),
            "同一地址申请主体": np.where(sole, "是", "否"),
        }))
    return pl.concat(out)
