"""A generated policy pack over the profile registry, for benchmarks at 温州 scale.

`zhida policy generate --clauses 4314 --seed S --out DIR` writes policy YAML documents whose
clauses have the shapes seen in the real pack: 2–6 atoms joined by `and` (a fifth of them with
one `or` group), yearly and monthly periods with aggregates, code sets and prefixes, flags,
dated lists and tags, years since establishment; amounts as rate × base or per-person
standards, capped, a third of them with a three-step tier; all four modes. Thresholds are
drawn from ranges typical of each field, so eligibility rates are plausible but not
calibrated. Deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from zhida.profiles.registry import load_registry

CLAUSES_PER_POLICY = 50

MONEY_YEAR = ["revenue", "taxable_income", "tax_paid", "local_contribution", "rd_expense", "total_assets",
              "ui_paid_year", "income_tax_paid"]
COUNT_YEAR = ["employees", "year_end_insured", "new_invention_patents"]
COUNT_NONE = ["invention_patents", "utility_patents", "software_copyrights", "years_established"]
FLAGS = ["is_service_industry", "is_industrial", "has_bank_account", "small_low_profit[last_year]"]
INDUSTRY_PREFIXES = ["13", "17", "18", "19", "26", "29", "33", "34", "35", "38", "39", "40", "51", "52", "54",
                     "61", "62", "64", "65", "72", "73", "75"]
MODES = [("exempt", 0.52), ("instant", 0.2), ("reviewed", 0.23), ("report_only", 0.05)]


def _sig2(x: float) -> str:
    """Two significant figures, as a plain decimal."""
    text = f"{x:.2g}"
    return str(int(float(text))) if "e" in text or float(text) >= 100 else text


@dataclass
class _Draw:
    rng: random.Random
    districts: list[str]
    sections: list[str]
    lists: list[str]

    def money(self, lo: float = 5e4, hi: float = 5e7) -> str:
        """A yuan threshold, log-uniform in [lo, hi], two significant figures."""
        return _sig2(10 ** self.rng.uniform(math.log10(lo), math.log10(hi)))

    def count(self, lo: int = 3, hi: int = 300) -> str:
        return str(round(10 ** self.rng.uniform(math.log10(lo), math.log10(hi))))

    def atom(self, used: set[str]) -> tuple[str, str]:
        """One atomic condition and the name of what it reads (no name twice in a clause)."""
        kind = self.rng.choices(["money", "count", "monthly", "code", "flag", "list", "age", "rate"],
                                [30, 15, 8, 17, 8, 12, 6, 4])[0]
        r = self.rng
        if kind == "money":
            f = r.choice([m for m in MONEY_YEAR if m not in used] or MONEY_YEAR)
            op = ">=" if r.random() < 0.8 else "<="
            return f"{f}[last_year] {op} {self.money()}", f
        if kind == "count":
            f = r.choice([c for c in COUNT_YEAR + COUNT_NONE if c not in used] or COUNT_YEAR)
            ref = f"{f}[last_year]" if f in COUNT_YEAR else f
            return f"{ref} >= {self.count()}", f
        if kind == "monthly":
            if r.random() < 0.5 and "insured" not in used:
                return f"avg(insured[months(-12..-1)]) >= {self.count()}", "insured"
            return f"count(ui_paid[months(-12..-1)] > 0) >= {r.randint(6, 12)}", "ui_paid"
        if kind == "code":
            choice = r.choice(["district", "section", "industry", "size", "credit"])
            if choice == "district" and "district_code" not in used:
                codes = r.sample(self.districts, r.randint(2, max(2, len(self.districts) // 2)))
                return f"district_code in [{', '.join(repr_code(c) for c in codes)}]", "district_code"
            if choice == "section" and "industry_section" not in used:
                codes = r.sample(self.sections, r.randint(2, 6))
                return f"industry_section in [{', '.join(repr_code(c) for c in codes)}]", "industry_section"
            if choice == "industry" and "industry_code" not in used:
                codes = r.sample(INDUSTRY_PREFIXES, r.randint(1, 5))
                return f"starts_with(industry_code, [{', '.join(repr_code(c) for c in codes)}])", "industry_code"
            if choice == "credit" and "tax_credit_level" not in used:
                return 'tax_credit_level[last_year] in ["A", "B", "M"]', "tax_credit_level"
            sizes = r.choice([["小型", "微型"], ["中型", "小型", "微型"], ["大型", "中型"]])
            return f"enterprise_size[last_year] in [{', '.join(repr_code(c) for c in sizes)}]", "enterprise_size"
        if kind == "flag":
            f = r.choice(FLAGS)
            return (f"not {f}" if r.random() < 0.1 else f), f
        if kind == "list":
            name = r.choice(self.lists)
            if name in ("严重违法失信名单", "经营异常名录", "行政处罚"):
                return f'not listed("{name}")', name
            return f'listed("{name}")', name
        if kind == "age":
            return f"years_since(established_on) >= {r.randint(1, 8)}", "established_on"
        return f"layoff_rate[last_year] <= {r.choice(['3%', '5.5%', '10%', '20%'])}", "layoff_rate"

    def when(self) -> str:
        n = self.rng.choices([2, 3, 4, 5, 6], [0.15, 0.30, 0.30, 0.15, 0.10])[0]
        # every clause has at least one money threshold, as real ones do
        first = self.rng.choice(MONEY_YEAR)
        used: set[str] = {first}
        atoms = [f"{first}[last_year] >= {self.money(2e5, 2e7)}"]
        for _ in range(n - 1):
            text, name = self.atom(used)
            if name in used:
                continue
            used.add(name)
            atoms.append(text)
        if len(atoms) >= 3 and self.rng.random() < 0.2:
            atoms = [f"({atoms[0]} or {atoms[1]})", *atoms[2:]]
        return "\n".join(f"and {a}" if i else a for i, a in enumerate(atoms))

    def amount(self) -> dict[str, Any]:
        r = self.rng
        if r.random() < 0.6:
            rate = r.choice(["0.5%", "1%", "2%", "3%", "5%", "10%", "20%", "30%"])
            base = f"{r.choice(MONEY_YEAR)}[last_year] * {rate}"
        else:
            person = r.choice(["employees[last_year]", "year_end_insured[last_year]", "avg(insured[months(-12..-1)])"])
            base = f"{person} * {r.choice([500, 1000, 1500, 2000, 5000, 10000, 20000])}"
        if r.random() < 0.37:
            var = r.choice(MONEY_YEAR)
            low = float(self.money(1e5, 1e6))
            steps = r.choice([("1", "1.5", "2"), ("0.5", "1", "1.5"), ("1", "2", "3")])
            base = (f"{base} * tier({var}[last_year], [{_sig2(low)}, {_sig2(low * 10)}], "
                    f"[{', '.join(steps)}])")
        out: dict[str, Any] = {"amount": base, "cap": self.money(5e4, 1e7)}
        if r.random() < 0.3:
            out["rounding"] = {"unit": "yuan", "mode": "down"}
        return out


def repr_code(code: str) -> str:
    return f'"{code}"'


def generate_pack(clauses: int, seed: int) -> Iterator[dict[str, Any]]:
    """Policy documents (plain dicts) holding `clauses` clauses in all."""
    registry = load_registry()
    rng = random.Random(seed)
    draw = _Draw(rng, sorted(registry.code_lists["district_code"]), sorted(registry.code_lists["industry_section"]),
                 sorted(registry.lists))
    made = 0
    number = 0
    while made < clauses:
        number += 1
        count = min(CLAUSES_PER_POLICY, clauses - made)
        items = []
        for _ in range(count):
            made += 1
            mode = rng.choices([m for m, _ in MODES], [w for _, w in MODES])[0]
            items.append({"id": f"c{made:05d}", "title": f"生成条款 {made}", "mode": mode,
                          "when": draw.when(), **draw.amount(), "stackable": True,
                          "source": "生成的基准条款（非真实政策）"})
        yield {
            "id": f"generated-{seed}-{number:04d}", "title": f"生成政策 {number}（基准用）",
            "issuer": "Zhida 基准生成器", "document_number": f"GEN-{seed}-{number}", "region": "330300",
            "source_url": "https://example.invalid/generated", "valid_from": "2020-01-01",
            "valid_to": "2030-12-31", "department": "基准", "budget": "10亿",
            "notes": "由 zhida policy generate 生成，用于性能基准，不代表任何真实政策。", "clauses": items,
        }


def write_pack(clauses: int, seed: int, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    written = []
    for doc in generate_pack(clauses, seed):
        path = out / f"{doc['id']}.yaml"
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh)
        written.append(path)
    return written
