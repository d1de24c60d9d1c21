"""Each department's feed, in that department's own columns, units and date formats."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from zhida.profiles.generate.vocab import ABNORMAL_REASONS, BANKS, DISTRICTS, INDUSTRIES, PENALTY_REASONS

INDUSTRY_WORDS = {code: word for code, word, *_ in INDUSTRIES}


def yuan(fen: pl.Expr) -> pl.Expr:
    """Integer fen -> '1234.56' (exact, sign kept)."""
    a = fen.abs()
    text = (a // 100).cast(pl.String) + "." + (a % 100).cast(pl.String).str.zfill(2)
    return pl.when(fen < 0).then("-" + text).otherwise(text)


def cn_date(d: pl.Expr) -> pl.Expr:
    """2019年5月1日"""
    return pl.format("{}年{}月{}日", d.dt.year(), d.dt.month(), d.dt.day())


def market(firms: pl.DataFrame, rng: np.random.Generator, people: pl.DataFrame) -> pl.DataFrame:
    """The register; `people` (from `people.legal_reps`, in the firms' order) adds each legal
    representative's ID number and phone."""
    state = pl.Series(rng.choice(["存续", "在业", "开业"], firms.height, p=[0.6, 0.3, 0.1]))
    firms = firms.with_columns(people["id_number"].alias("rep_id"), people["phone"].alias("rep_phone"))
    return firms.select(
        pl.format("SCJG{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(8)).alias("记录编号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("entity_type").alias("企业类型代码"),
        pl.col("capital_wan").cast(pl.Int64).cast(pl.String).alias("注册资本(万元)"),
        (pl.col("capital_wan") * 0.3).round(2).cast(pl.String).alias("实缴资本(万元)"),
        cn_date(pl.col("established")).alias("成立日期"),
        pl.when(pl.col("status") == "存续").then(pl.lit(state)).otherwise(pl.col("status")).alias("登记状态"),
        cn_date(pl.col("cancelled")).alias("注销日期"),
        pl.col("address").alias("住所"),
        pl.col("district").alias("所属区县代码"),
        pl.col("industry").alias("行业代码"),
        pl.col("legal_rep").alias("法定代表人"),
        pl.col("rep_id").alias("法定代表人身份证号码"),
        pl.col("rep_phone").alias("联系电话"),
        (pl.lit("一般项目：") + pl.col("industry").replace_strict(INDUSTRY_WORDS, default="商品")
         + "的生产、销售及相关服务").alias("经营范围"),
    )


def tax(years: pl.DataFrame, firms: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    y = years.join(firms.select("uscc", "name", "industry", "employees"), on="uscc", suffix="_now")
    n = y.height
    level = rng.choice(list("ABMCD"), n, p=[0.15, 0.55, 0.20, 0.08, 0.02])
    rd = np.where(y["industry"].str.slice(0, 1).is_in(["C", "I", "M"]).to_numpy() & (rng.random(n) < 0.4),
                  (y["revenue"].to_numpy() * rng.uniform(0.01, 0.06, n)).astype(np.int64), 0)
    paid_total = (y["revenue"].to_numpy() * np.exp(rng.normal(np.log(0.04), 0.4, n))).astype(np.int64)
    return y.select(
        pl.format("SB{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9)).alias("申报序号"),
        pl.col("uscc").alias("纳税人识别号"),
        pl.col("name").alias("纳税人名称"),
        pl.col("year").cast(pl.String).alias("所属年度"),
        yuan(pl.col("revenue")).alias("营业收入"),
        yuan(pl.col("taxable")).alias("应纳税所得额"),
        yuan(pl.col("taxable").clip(lower_bound=0) * pl.when(pl.col("taxable") <= 300_000_000).then(5).otherwise(25)
             // 100).alias("企业所得税实缴额"),
        yuan(pl.lit(pl.Series(paid_total))).alias("实缴税款合计"),
        yuan(pl.lit(pl.Series(paid_total)) * 4 // 10).alias("地方综合贡献"),
        pl.lit(pl.Series(level)).alias("纳税信用等级"),
        pl.when(pl.col("revenue") > 500_000_000).then(pl.lit("一般纳税人")).otherwise(pl.lit("小规模纳税人"))
        .alias("纳税人资格类型"),
        yuan(pl.lit(pl.Series(rd))).alias("研发费用"),
        pl.col("employees").cast(pl.String).alias("从业人数"),
        yuan(pl.col("assets")).alias("资产总额"),
        yuan(pl.lit(pl.Series(paid_total)) * 6 // 100).alias("六税两费应纳额"),
        pl.format("{}0531", pl.col("year") + 1).alias("申报日期"),
    )


def hrss(ins: pl.DataFrame) -> pl.DataFrame:
    return ins.select(
        pl.format("RS{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9)).alias("记录号"),
        (pl.lit("3303") + pl.col("uscc").str.slice(10, 7)).alias("单位社保编号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("period").alias("费款所属期"),
        pl.col("insured").cast(pl.String).alias("参保人数"),
        yuan(pl.col("paid")).alias("失业保险实缴金额"),
        yuan(pl.col("arrears")).alias("欠费金额"),
        pl.when(pl.col("in_full")).then(pl.lit("足额")).otherwise(pl.lit("欠费")).alias("缴费状态"),
        pl.col("claims").cast(pl.String).alias("新增领取失业保险金人数"),
        pl.col("hires").cast(pl.String).alias("新招用人数"),
        pl.col("grads").cast(pl.String).alias("其中高校毕业生"),
    )


FOUR_ABOVE = [  # category, industry prefix test, revenue threshold (fen)
    ("规上工业", ("B", "C", "D"), 2_000_000_000), ("限上批零", ("F51",), 2_000_000_000),
    ("限上批零", ("F52",), 500_000_000), ("限上住餐", ("H",), 200_000_000),
    ("资质建筑", ("E",), 1_000_000_000), ("房地产开发", ("K70",), 0),
    ("规上服务业", ("G", "I", "L", "M", "N", "O", "P", "Q", "R"), 1_000_000_000),
]


def stats(years: pl.DataFrame, firms: pl.DataFrame, lists: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    y = years.join(firms.select("uscc", "industry", "established"), on="uscc")
    cat = pl.lit(None, pl.String)
    for name, prefixes, threshold in reversed(FOUR_ABOVE):
        in_industry = pl.any_horizontal([pl.col("industry").str.starts_with(p) for p in prefixes])
        cond = in_industry & (pl.col("revenue") >= threshold)
        cat = pl.when(cond).then(pl.lit(name)).otherwise(cat)
    y = y.with_columns(cat.alias("cat")).filter(pl.col("cat").is_not_null())
    entry = y.group_by("uscc").agg(pl.col("year").min().alias("entry_year"), pl.col("established").first())
    # firms already above the threshold in the first year of data entered the list earlier
    back = pl.Series(rng.integers(0, 8, entry.height))
    entry = entry.with_columns(pl.max_horizontal(
        pl.date(pl.col("entry_year") - back, 3, 1), pl.date(2011, 3, 1),
        pl.col("established") + pl.duration(days=30)).alias("入库"))
    y = y.join(entry.select("uscc", "入库"), on="uscc")
    noise = np.where(rng.random(y.height) < 0.1, rng.uniform(0.8, 1.2, y.height), 1.0)
    return y.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("year").cast(pl.String).alias("报告年度"),
        pl.col("industry").str.slice(1, 4).alias("行业代码"),
        pl.col("cat").alias("四上类别"),
        (pl.col("employees") * pl.lit(pl.Series(noise))).round(0).cast(pl.Int64).cast(pl.String)
        .alias("从业人员期末人数"),
        (pl.col("assets") // 100_000).cast(pl.String).alias("资产总计(千元)"),
        (pl.col("revenue") // 100_000).cast(pl.String).alias("营业收入(千元)"),
        pl.col("入库").dt.strftime("%Y-%m-%d").alias("入库日期"),
        pl.lit("").alias("退库日期"),
    )


def sci(lists: pl.DataFrame) -> pl.DataFrame:
    e = lists.filter(pl.col("list").is_in(["高新技术企业", "科技型中小企业", "技术先进型服务企业",
                                           "已获高新技术企业认定奖励"]))
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("list").alias("名单类别"),
        pl.col("ref").alias("证书编号"),
        pl.col("listed_on").dt.strftime("%Y%m%d").alias("发证日期"),
        pl.col("kind").alias("认定类型"),
        pl.col("expires_on").dt.strftime("%Y%m%d").alias("有效期至"),
    )


ECON_TITLES = {"专精特新小巨人": "国家级专精特新“小巨人”企业", "省专精特新": "省级专精特新中小企业",
               "省隐形冠军": "省级隐形冠军企业", "僵尸企业": "僵尸企业"}


def econ(lists: pl.DataFrame, firms: pl.DataFrame) -> pl.DataFrame:
    e = lists.filter(pl.col("list").is_in(list(ECON_TITLES))).join(firms.select("uscc", "name", "district"), on="uscc")
    dnames = {d[0]: d[1] for d in DISTRICTS}
    return e.select(
        pl.int_range(1, pl.len() + 1).cast(pl.String).alias("序号"),
        pl.col("name").alias("企业名称"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("district").replace_strict(dnames, default="").alias("所在地区"),
        pl.col("list").replace_strict(ECON_TITLES).alias("称号"),
        pl.col("kind").fill_null("").alias("批次"),
        cn_date(pl.col("listed_on")).alias("公布日期"),
        cn_date(pl.col("expires_on")).fill_null("").alias("有效期至"),
    )


def credit(lists: pl.DataFrame) -> pl.DataFrame:
    e = lists.filter(pl.col("list").is_in(["经营异常名录", "严重违法失信名单", "行政处罚"]))
    reasons = {i: r for i, r in enumerate(ABNORMAL_REASONS)} | {9: "严重违法失信行为"} | {
        10 + i: r for i, r in enumerate(PENALTY_REASONS)}
    return e.select(
        pl.format("XY{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7)).alias("信息编号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("list").alias("信息类别"),
        pl.col("listed_on").alias("列入日期"),
        pl.col("removed_on").alias("移出日期"),
        pl.col("expires_on").alias("公示截止日期"),
        pl.col("reason").replace_strict(reasons, default="", return_dtype=pl.String).alias("列入事由"),
        pl.col("ref").fill_null("").alias("决定文号"),
    )


def ip(firms: pl.DataFrame, lists: pl.DataFrame, as_of: date, rng: np.random.Generator) -> pl.DataFrame:
    hitech = lists.filter(pl.col("list") == "高新技术企业").select("uscc").unique()
    hitech = hitech.with_columns(pl.lit(True).alias("ht"))
    f = firms.join(hitech, on="uscc", how="left").with_columns(pl.col("ht").fill_null(False))
    p = np.where(f["ht"].to_numpy(), 0.95,
                 np.where(f["industry"].str.slice(0, 1).is_in(["C", "I", "M"]).to_numpy()
                          & (f["employees"].to_numpy() >= 5), 0.25, 0.01))
    f = f.filter(pl.Series(rng.random(f.height) < p))
    n, scale = f.height, np.sqrt(f["employees"].to_numpy()) * np.where(f["ht"].to_numpy(), 1.5, 0.4)
    inv, uti, des = rng.poisson(scale * 0.6), rng.poisson(scale * 1.5), rng.poisson(scale * 0.5)
    sw = rng.poisson(np.where(f["industry"].str.starts_with("I").to_numpy(), 4.0, 0.3) * scale)
    new = rng.binomial(inv, 0.2)
    out = []
    for year, back in ((as_of.year - 2, new), (as_of.year - 1, np.zeros(n, dtype=np.int64))):
        out.append(pl.DataFrame({
            "统一社会信用代码": f["uscc"], "统计年度": str(year),
            "有效发明专利(件)": (inv - back).astype(str), "有效实用新型(件)": uti.astype(str),
            "有效外观设计(件)": des.astype(str), "软件著作权(件)": sw.astype(str),
            "当年发明专利授权(件)": (new if back is not new else rng.binomial(inv - new, 0.2)).astype(str),
        }))
    return pl.concat(out)


def geo(firms: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    f = firms.filter(pl.Series(rng.random(firms.height) < 0.95))
    d = f["dist_idx"].to_numpy()
    lon = np.array([x[2] for x in DISTRICTS])[d] + rng.normal(0, 0.03, f.height)
    lat = np.array([x[3] for x in DISTRICTS])[d] + rng.normal(0, 0.03, f.height)
    return pl.DataFrame({"uscc": f["uscc"], "lng": np.round(lon, 6), "lat": np.round(lat, 6),
                         "match_level": rng.choice(["门牌", "道路", "街道"], f.height, p=[0.8, 0.15, 0.05])})


def bank(firms: pl.DataFrame, as_of: date, rng: np.random.Generator) -> pl.DataFrame:
    p = np.where(firms["kind"].to_numpy() == 2, 0.2, 0.55)
    f = firms.filter(pl.Series(rng.random(firms.height) < p) & (pl.col("status") == "存续"))
    acct = pl.Series(rng.integers(10**15, 10**16, f.height)).cast(pl.String) + pl.Series(
        rng.integers(100, 999, f.height)).cast(pl.String)
    confirmed = pl.Series((as_of.toordinal() - 719163) - rng.integers(1, 900, f.height)).cast(pl.Date)
    return pl.DataFrame({
        "统一社会信用代码": f["uscc"], "户名": f["name"],
        "开户银行": pl.Series(BANKS).gather(rng.integers(0, len(BANKS), f.height)),
        "银行账号": acct, "确认日期": confirmed.dt.strftime("%Y/%m/%d"),
    })
