"""The benchmark enterprises of /work/shared/bench-spec.md, generated with vectorised NumPy.

Values are kept in the exact integer encoding of docs/decisions/0001 (fen, counts, percent
fractions × 10^4) with a separate missing mask; floats for OpenFisca are derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENTERPRISE_SEED = 20240101
MISSING_SHARE = 0.05

# (id, label, kind). Kinds are zhida.rules.lang.schema field types.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("revenue", "营业收入", "money"),
    ("revenue_prev", "上年营业收入", "money"),
    ("profit", "利润总额", "money"),
    ("total_assets", "资产总额", "money"),
    ("registered_capital", "注册资本", "money"),
    ("tax_paid", "纳税总额", "money"),
    ("vat_paid", "增值税", "money"),
    ("cit_paid", "企业所得税", "money"),
    ("rd_expense", "研发费用", "money"),
    ("export_revenue", "出口额", "money"),
    ("fixed_asset_investment", "固定资产投资", "money"),
    ("equipment_investment", "设备投资", "money"),
    ("tech_renovation_investment", "技术改造投资", "money"),
    ("digital_investment", "数字化投资", "money"),
    ("wage_bill", "工资总额", "money"),
    ("social_insurance_paid", "社保缴费", "money"),
    ("loan_balance", "贷款余额", "money"),
    ("employees", "从业人数", "count"),
    ("new_hires", "新招用人数", "count"),
    ("rd_staff", "研发人员", "count"),
    ("graduates_hired", "招用高校毕业生", "count"),
    ("insured_employees", "参保人数", "count"),
    ("revenue_growth_pct", "营收增长率", "percent"),
    ("rd_intensity_pct", "研发投入强度", "percent"),
    ("export_share_pct", "出口占比", "percent"),
    ("district", "区县", "code"),
    ("township", "乡镇街道", "code"),
    ("industry_division", "行业大类", "code"),
    ("industry_section", "行业门类", "code"),
    ("size_class", "企业规模", "code"),
    ("ownership", "登记注册类型", "code"),
    ("credit_rating", "纳税信用等级", "code"),
    ("taxpayer_type", "纳税人类型", "code"),
    ("listing_status", "上市状态", "code"),
    ("park", "所在园区", "code"),
    ("high_tech_enterprise", "高新技术企业", "bool"),
    ("specialised_sme", "专精特新中小企业", "bool"),
    ("tech_sme", "科技型中小企业", "bool"),
    ("green_factory", "绿色工厂", "bool"),
    ("ip_demo_enterprise", "知识产权示范企业", "bool"),
)
KIND = {name: kind for name, _, kind in VARIABLES}
SCALE = {"money": 2, "count": 0, "percent": 4}
NUMERIC = tuple(v for v, _, k in VARIABLES if k in SCALE)
CODES = tuple(v for v, _, k in VARIABLES if k == "code")
FLAGS = tuple(v for v, _, k in VARIABLES if k == "bool")

_DISTRICTS = (  # code, share of firms, townships
    ("330302", 0.14, 14), ("330303", 0.10, 10), ("330304", 0.12, 13), ("330305", 0.02, 6),
    ("330324", 0.08, 22), ("330326", 0.07, 16), ("330327", 0.06, 16), ("330328", 0.02, 17),
    ("330329", 0.02, 19), ("330381", 0.15, 23), ("330382", 0.16, 24), ("330383", 0.06, 5),
)
# GB/T 4754-2017 sections and their two-digit divisions (97 in all).
_SECTIONS = (
    ("A", 1, 5), ("B", 6, 12), ("C", 13, 43), ("D", 44, 46), ("E", 47, 50), ("F", 51, 52),
    ("G", 53, 60), ("H", 61, 62), ("I", 63, 65), ("J", 66, 69), ("K", 70, 70), ("L", 71, 72),
    ("M", 73, 75), ("N", 76, 79), ("O", 80, 82), ("P", 83, 83), ("Q", 84, 85), ("R", 86, 90),
    ("S", 91, 96), ("T", 97, 97),
)
_SIZE_CLASSES = ("大", "中", "小", "微")
_OWNERSHIP = (("170", .80), ("150", .10), ("160", .02), ("110", .005), ("120", .005),
              ("130", .005), ("140", .005), ("200", .03), ("300", .03))
_CREDIT = (("A", .20), ("B", .50), ("M", .20), ("C", .07), ("D", .03))
_LISTING = (("unlisted", .995), ("sh_main", .0015), ("sz_main", .0012), ("star", .0005),
            ("chinext", .0008), ("bse", .0003), ("neeq", .0007))
# Certification shares, and their logistic slopes on latent size z and on R&D.
_FLAGS = (("high_tech_enterprise", .041, 1.0, 2.0), ("specialised_sme", .015, 1.2, 1.5),
          ("tech_sme", .081, 0.6, 2.0), ("green_factory", .012, 1.2, 0.3),
          ("ip_demo_enterprise", .019, 0.9, 1.5))


@dataclass
class Population:
    """n enterprises. Numeric values are exact integers (value × 10^scale) plus a missing mask."""

    n: int
    ints: dict[str, np.ndarray]          # int64, meaningless where missing
    missing: dict[str, np.ndarray]       # bool
    codes: dict[str, np.ndarray]         # int32 index into code_values[var]
    code_values: dict[str, tuple[str, ...]]
    flags: dict[str, np.ndarray]         # bool

    def floats(self, var: str) -> np.ndarray:
        """Float64 values with NaN for missing (OpenFisca's input; exact for comparisons)."""
        out = self.ints[var] / 10.0 ** SCALE[KIND[var]]
        out[self.missing[var]] = np.nan
        return out

    def code_shares(self, var: str, rows: np.ndarray | None = None) -> np.ndarray:
        idx = self.codes[var] if rows is None else self.codes[var][rows]
        return np.bincount(idx, minlength=len(self.code_values[var])) / len(idx)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _lognormal(rng: np.random.Generator, mu: float, sigma: float, n: int) -> np.ndarray:
    return np.exp(rng.normal(mu, sigma, n))


def _draw(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def _calibrated_flag(rng, share, slope_z, slope_rd, z, rd) -> np.ndarray:
    """Logistic in z and R&D with the intercept bisected so the expected share is `share`."""
    lo, hi = -30.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _logistic(mid + slope_z * z + slope_rd * rd).mean() < share:
            lo = mid
        else:
            hi = mid
    return rng.random(len(z)) < _logistic(lo + slope_z * z + slope_rd * rd)


def generate_population(n: int, seed: int = ENTERPRISE_SEED) -> Population:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    rd = rng.random(n) < 0.18 + 0.25 * _logistic(z)

    employees = np.maximum(np.rint(np.exp(2.2 + 1.25 * z + 0.35 * rng.standard_normal(n))), 1)
    revenue = employees * 350_000 * np.exp(0.8 * rng.standard_normal(n))
    growth = np.clip(rng.normal(0.06, 0.25, n), -0.8, 3.0)
    profit = revenue * rng.normal(0.05, 0.08, n)
    total_assets = revenue * _lognormal(rng, 0.0, 0.7, n)
    tax_paid = revenue * _lognormal(rng, np.log(0.035), 0.5, n)
    fixed_asset = np.where(rng.random(n) < 0.5, revenue * _lognormal(rng, np.log(0.08), 1.0, n), 0)
    exporter = rng.random(n) < 0.15
    wage_bill = employees * _lognormal(rng, np.log(85_000), 0.3, n)
    money = {
        "revenue": revenue,
        "revenue_prev": revenue / (1 + growth),
        "profit": profit,
        "total_assets": total_assets,
        "registered_capital": _lognormal(rng, 0, 1.0, n) * np.exp(np.log(1e6) + 0.6 * z),
        "tax_paid": tax_paid,
        "vat_paid": tax_paid * rng.uniform(0.4, 0.75, n),
        "cit_paid": np.maximum(profit, 0) * rng.uniform(0.05, 0.25, n),
        "rd_expense": np.where(rd, revenue * _lognormal(rng, np.log(0.035), 0.6, n), 0),
        "export_revenue": np.where(exporter, revenue * rng.beta(2, 3, n), 0),
        "fixed_asset_investment": fixed_asset,
        "equipment_investment": fixed_asset * rng.uniform(0.2, 0.8, n),
        "tech_renovation_investment": np.where(
            rng.random(n) < 0.2, revenue * _lognormal(rng, np.log(0.03), 1.0, n), 0),
        "digital_investment": np.where(
            rng.random(n) < 0.25, revenue * _lognormal(rng, np.log(0.01), 1.0, n), 0),
        "wage_bill": wage_bill,
        "social_insurance_paid": wage_bill * rng.uniform(0.15, 0.3, n),
        "loan_balance": np.where(rng.random(n) < 0.5, total_assets * rng.uniform(0, 0.6, n), 0),
    }
    ints: dict[str, np.ndarray] = {k: np.rint(v * 100).astype(np.int64) for k, v in money.items()}
    new_hires = rng.poisson(0.12 * employees)
    ints |= {
        "employees": employees.astype(np.int64),
        "new_hires": new_hires.astype(np.int64),
        "rd_staff": np.rint(employees * rng.beta(2, 8, n)).astype(np.int64),
        "graduates_hired": rng.poisson(0.2 * new_hires).astype(np.int64),
        "insured_employees": rng.binomial(employees.astype(np.int64), 0.9).astype(np.int64),
    }
    rev = ints["revenue"].astype(np.float64)
    prev = np.maximum(ints["revenue_prev"], 1).astype(np.float64)
    ints["revenue_growth_pct"] = np.rint((rev / prev - 1) * 1e4).astype(np.int64)
    ints["rd_intensity_pct"] = np.rint(ints["rd_expense"] / rev * 1e4).astype(np.int64)
    ints["export_share_pct"] = np.rint(ints["export_revenue"] / rev * 1e4).astype(np.int64)
    missing = {v: rng.random(n) < MISSING_SHARE for v in NUMERIC}

    codes, values = _categoricals(rng, n, z, employees, revenue)
    flags = {name: _calibrated_flag(rng, share, bz, brd, z, rd.astype(float))
             for name, share, bz, brd in _FLAGS}
    return Population(n, ints, missing, codes, values, flags)


def _categoricals(rng, n, z, employees, revenue):
    codes: dict[str, np.ndarray] = {}
    values: dict[str, tuple[str, ...]] = {}

    dist = _draw(rng, np.array([w for _, w, _ in _DISTRICTS]), n)
    codes["district"], values["district"] = dist, tuple(c for c, _, _ in _DISTRICTS)
    towns: list[str] = []
    town_idx = np.zeros(n, dtype=np.int64)
    for d, (code, _, count) in enumerate(_DISTRICTS):
        rows = np.flatnonzero(dist == d)
        weights = 1.0 / np.arange(1, count + 1) ** 0.8
        town_idx[rows] = len(towns) + _draw(rng, weights, len(rows))
        towns += [f"{code}{k:03d}" for k in range(1, count + 1)]
    codes["township"], values["township"] = town_idx, tuple(towns)

    divisions = [(f"{d:02d}", s) for s, lo, hi in _SECTIONS for d in range(lo, hi + 1)]
    weights = np.array([4.0 if s == "C" else 12.0 if s == "F" else 1.0 for _, s in divisions])
    weights *= rng.gamma(2.0, 0.5, len(divisions))
    div = _draw(rng, weights, n)
    codes["industry_division"], values["industry_division"] = div, tuple(d for d, _ in divisions)
    sections = tuple(s for s, _, _ in _SECTIONS)
    div_section = np.array([sections.index(s) for _, s in divisions])
    codes["industry_section"], values["industry_section"] = div_section[div], sections

    size = np.full(n, 3)
    size[(employees >= 20) & (revenue >= 3e6)] = 2
    size[(employees >= 300) & (revenue >= 2e7)] = 1
    size[(employees >= 1000) & (revenue >= 4e8)] = 0
    codes["size_class"], values["size_class"] = size, _SIZE_CLASSES

    for var, table in (("ownership", _OWNERSHIP), ("credit_rating", _CREDIT),
                       ("listing_status", _LISTING)):
        codes[var] = _draw(rng, np.array([w for _, w in table]), n)
        values[var] = tuple(c for c, _ in table)
    general = rng.random(n) < _logistic(-1.0 + 1.2 * z)
    codes["taxpayer_type"] = np.where(general, 0, 1)
    values["taxpayer_type"] = ("general", "small_scale")
    park_weights = np.concatenate([[0.7], 0.3 * (w := 1 / np.arange(1, 31)) / w.sum()])
    codes["park"] = _draw(rng, park_weights, n)
    values["park"] = ("none", *(f"P{k:02d}" for k in range(1, 31)))
    return {k: v.astype(np.int32) for k, v in codes.items()}, values
