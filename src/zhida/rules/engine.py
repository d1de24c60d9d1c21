"""Whole-population evaluation: every clause over every enterprise, in Polars, once.

Results are sparse: only (enterprise, clause) pairs that are eligible, unknown or excluded
by an exclusivity rule are returned; everything else is ineligible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from zhida.rules import ast, frame
from zhida.rules.compile import WIDE, Compiler, Numeric, rescale
from zhida.rules.errors import ExpressionError, FrameError, PolicyError, Problem
from zhida.rules.policy import Clause, Policy
from zhida.rules.schema import Schema

STATUSES = ("eligible", "unknown", "excluded")
STATUS = pl.Enum(STATUSES)
ROUNDING_DIGITS = {"fen": 2, "yuan": 0, "hundred_yuan": -2, "thousand_yuan": -3, "wan": -4}


def atoms(node: ast.Node) -> list[ast.Node]:
    """The atomic conditions of a condition: leaves of its and/or tree (a `not` stays with
    its operand when the operand is itself atomic)."""
    if isinstance(node, ast.BoolOp):
        return [a for item in node.items for a in atoms(item)]
    if isinstance(node, ast.Not) and isinstance(node.operand, ast.BoolOp):
        return atoms(node.operand)
    return [node]


def finish_amount(raw: Numeric, cap: Numeric | None, unit: str, mode: str) -> pl.Expr:
    """Cap, then round to the clause's unit, as integer fen. Null stays null."""
    if cap is not None:
        s = max(raw.scale, cap.scale)
        a, c = raw.at(s).cast(WIDE), cap.at(s).cast(WIDE)
        capped = pl.when(a.is_null() | c.is_null()).then(pl.lit(None)).otherwise(pl.min_horizontal(a, c))
        raw = Numeric(capped, s)
    digits = ROUNDING_DIGITS[unit]
    if digits >= 0:
        return rescale(raw, digits, mode).cast(pl.Int64) * pl.lit(10 ** (2 - digits), dtype=pl.Int64)
    shifted = Numeric(raw.expr, raw.scale - digits,
                      raw.const / 10**-digits if raw.const is not None else None)
    # value / 10^-digits rounded to an integer, then back to fen
    return rescale(shifted, 0, mode).cast(pl.Int64) * pl.lit(10 ** (2 - digits), dtype=pl.Int64)


@dataclass
class CompiledClause:
    clause: Clause
    policy: Policy
    order: int
    when: pl.Expr
    atoms: list[tuple[ast.Node, pl.Expr, list[str]]]
    amount: pl.Expr
    amount_columns: list[str]
    requirements: frame.Requirements

    @property
    def key(self) -> str:
        return self.clause.key


@dataclass
class CompiledPolicies:
    """A set of policies compiled for one evaluation date."""

    schema: Schema
    as_of: date
    policies: list[Policy]
    clauses: list[CompiledClause]
    requirements: frame.Requirements
    caps: dict[str, tuple[pl.Expr, pl.Expr]] = field(default_factory=dict)
    skipped: list[Policy] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.clauses]

    def check_frame(self, df: pl.DataFrame) -> None:
        missing = [c for c in [frame.ID_COLUMN, *self.requirements.columns()] if c not in df.columns]
        if missing:
            raise FrameError("画像数据缺少以下列：" + "、".join(missing[:20])
                             + ("……" if len(missing) > 20 else ""))

    def evaluate(self, df: pl.DataFrame, *, batch_size: int = 200, diagnose: bool = True) -> pl.DataFrame:
        """Sparse results for every clause over every row of `df`.

        Columns: row (UInt32), clause (Enum of clause keys), status (eligible|unknown|excluded),
        amount_fen (Int64, null when unknown), missing (list of frame columns that were
        missing for an unknown pair; only when `diagnose`).
        """
        self.check_frame(df)
        keys = pl.Enum(self.keys)
        parts: list[pl.DataFrame] = []
        for start in range(0, len(self.clauses), batch_size):
            batch = self.clauses[start : start + batch_size]
            # The id column makes constant conditions broadcast to the frame's height.
            verdicts = df.select(pl.col(frame.ID_COLUMN), *[c.when.alias(str(i)) for i, c in enumerate(batch)])
            for i, c in enumerate(batch):
                part = _clause_rows(df, verdicts.get_column(str(i)), c, keys, diagnose)
                if part is not None:
                    parts.append(part)
        out = pl.concat(parts) if parts else empty_results(keys, diagnose)
        return self.post_process(df, out)

    def post_process(self, df: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
        results = apply_exclusivity(results, self.clauses)
        if self.caps:
            results = apply_enterprise_caps(df, results, self)
        return results


def empty_results(keys: pl.Enum, diagnose: bool) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"row": pl.UInt32(), "clause": keys, "status": STATUS,
                                      "amount_fen": pl.Int64()}
    if diagnose:
        schema["missing"] = pl.List(pl.String())
    return pl.DataFrame(schema=schema)


def _clause_rows(df: pl.DataFrame, verdict: pl.Series, c: CompiledClause, keys: pl.Enum,
                 diagnose: bool) -> pl.DataFrame | None:
    true_rows = verdict.arg_true()
    null_rows = verdict.is_null().arg_true()
    if true_rows.len() == 0 and null_rows.len() == 0:
        return None
    rows = pl.concat([true_rows, null_rows]).cast(pl.UInt32)
    sub = df.select(frame.ID_COLUMN, *c.requirements.columns()).gather(rows)
    amount = sub.with_columns(c.amount.alias("amount_fen")).get_column("amount_fen")
    n_true = true_rows.len()
    out = pl.DataFrame({"row": rows, "amount_fen": amount}).with_columns(
        clause=pl.lit(c.key, dtype=keys),
        status=pl.when((pl.int_range(pl.len()) < n_true) & pl.col("amount_fen").is_not_null())
        .then(pl.lit("eligible")).otherwise(pl.lit("unknown")).cast(STATUS),
    )
    if diagnose:
        out = out.with_columns(missing=_missing(sub, c))
    return out.select(["row", "clause", "status", "amount_fen", *(["missing"] if diagnose else [])])


def _missing(sub: pl.DataFrame, c: CompiledClause) -> pl.Series:
    """For each row of `sub`, the frame columns whose absence left the pair undecided:
    inputs of unknown atoms, and inputs of the amount when the amount is unknown."""
    exprs = [pl.when(expr.is_null() & pl.col(col).is_null()).then(pl.lit(col))
             for _node, expr, cols in c.atoms for col in cols]
    exprs += [pl.when(c.amount.is_null() & pl.col(col).is_null()).then(pl.lit(col)) for col in c.amount_columns]
    if not exprs:
        return pl.Series("missing", [[] for _ in range(sub.height)], dtype=pl.List(pl.String))
    return sub.select(
        pl.concat_list([e.cast(pl.String) for e in exprs]).list.drop_nulls().list.unique(maintain_order=True)
        .alias("missing")).to_series()


def apply_exclusivity(results: pl.DataFrame, clauses: Sequence[CompiledClause]) -> pl.DataFrame:
    """同一事项不重复享受: within a group, one eligible clause per enterprise pays.

    `highest` (就高) keeps the largest amount, `priority` the lowest priority number;
    ties go to the clause listed first. The others become `excluded`.
    """
    groups = {c.key: c.clause.spec.exclusive for c in clauses if c.clause.spec.exclusive is not None}
    if not groups or results.is_empty():
        return results
    meta = pl.DataFrame({
        "clause": list(groups),
        "_group": [g.group for g in groups.values()],
        "_by_amount": [g.rule == "highest" for g in groups.values()],
        "_priority": [g.priority for g in groups.values()],
        "_order": [next(c.order for c in clauses if c.key == k) for k in groups],
    }).with_columns(pl.col("clause").cast(results.schema["clause"]))
    tagged = results.with_row_index("_i").join(meta, on="clause", how="left")
    contenders = tagged.filter(pl.col("_group").is_not_null() & (pl.col("status") == "eligible"))
    if contenders.is_empty():
        return results
    contenders = contenders.with_columns(
        _rank=pl.when(pl.col("_by_amount")).then(-pl.col("amount_fen")).otherwise(pl.col("_priority")))
    winners = contenders.sort(["row", "_group", "_rank", "_order"]).group_by(
        ["row", "_group"], maintain_order=True).first().select("_i")
    losers = contenders.join(winners, on="_i", how="anti").get_column("_i")
    return results.with_row_index("_i").with_columns(
        status=pl.when(pl.col("_i").is_in(losers.implode())).then(pl.lit("excluded", dtype=STATUS))
        .otherwise(pl.col("status"))).drop("_i")


def apply_enterprise_caps(df: pl.DataFrame, results: pl.DataFrame, compiled: CompiledPolicies) -> pl.DataFrame:
    """A policy's yearly cap per enterprise, granted to its clauses in the order listed.

    If the cap applies but is unknown (or whether it applies is unknown), the amounts it
    could reduce become unknown.
    """
    order = {c.key: (c.policy.id, c.order) for c in compiled.clauses}
    for policy_id, (amount, when) in compiled.caps.items():
        keys = [k for k, (p, _) in order.items() if p == policy_id]
        mine = results.filter(pl.col("clause").cast(pl.String).is_in(keys) & (pl.col("status") == "eligible"))
        if mine.is_empty():
            continue
        rows = mine.get_column("row").unique()
        caps = df.select(_cap_applies=when, _cap_fen=amount).with_row_index("row").filter(
            pl.col("row").is_in(rows.implode()))
        ranked = mine.with_columns(_ord=pl.col("clause").cast(pl.String).replace_strict(
            {k: o for k, (_, o) in order.items() if k in keys}, return_dtype=pl.Int64))
        ranked = ranked.join(caps.with_columns(pl.col("row").cast(pl.UInt32)), on="row").sort(["row", "_ord"])
        ranked = ranked.with_columns(_before=pl.col("amount_fen").cum_sum().over("row") - pl.col("amount_fen"))
        granted = pl.min_horizontal(pl.col("amount_fen"), pl.max_horizontal(pl.col("_cap_fen") - pl.col("_before"), 0))
        capped = ranked.with_columns(
            _new=pl.when(pl.col("_cap_applies").is_null() | (pl.col("_cap_applies") & pl.col("_cap_fen").is_null()))
            .then(pl.lit(None, dtype=pl.Int64))
            .when(pl.col("_cap_applies")).then(granted).otherwise(pl.col("amount_fen")),
        ).select("row", "clause", "_new")
        results = results.join(capped, on=["row", "clause"], how="left").with_columns(
            amount_fen=pl.when(pl.col("_new").is_not_null() | pl.col("clause").cast(pl.String).is_in(keys).not_()
                               | (pl.col("status") != "eligible"))
            .then(pl.coalesce("_new", "amount_fen")).otherwise(pl.lit(None, dtype=pl.Int64)),
        ).with_columns(
            status=pl.when((pl.col("status") == "eligible") & pl.col("amount_fen").is_null())
            .then(pl.lit("unknown", dtype=STATUS)).otherwise(pl.col("status")),
        ).drop("_new")
    return results


def _amount_inputs(clause: Clause, compiler: Compiler, schema: Schema) -> list[str]:
    """Columns whose absence makes the amount unknown. The region column only selects a
    regional parameter value (falling back to the default), so it is not one of them."""
    named = {n.name for e in (clause.amount, clause.cap) if e is not None
             for n in ast.walk(e) if isinstance(n, ast.FieldRef)}
    region_named = any(schema.resolve(n) is not None and schema.resolve(n).id == schema.region_field  # type: ignore[union-attr]
                       for n in named)
    return [c for c in compiler.requirements.columns() if c != schema.region_field or region_named]


def compile_policies(policies: Sequence[Policy], schema: Schema, as_of: date) -> CompiledPolicies:
    """Type-check and compile every clause of the policies in force on `as_of`.

    Raises PolicyError with every problem of every policy.
    """
    compiled: list[CompiledClause] = []
    requirements = frame.Requirements()
    problems: list[Problem] = []
    caps: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    skipped = []
    order = 0
    for policy in policies:
        if not policy.in_force(as_of):
            skipped.append(policy)
            continue
        for i, clause in enumerate(policy.clauses):
            comp = Compiler(schema, policy.params, as_of)
            try:
                when = comp.predicate(clause.when)
                atom_exprs = []
                for a in atoms(clause.when):
                    ac = Compiler(schema, policy.params, as_of)
                    atom_exprs.append((a, ac.predicate(a), ac.requirements.columns()))
                mc = Compiler(schema, policy.params, as_of)
                raw = mc.amount(clause.amount)
                cap = mc.amount(clause.cap) if clause.cap is not None else None
                spec = clause.spec.rounding
                amount = finish_amount(raw, cap, spec.unit, spec.mode)
                comp.requirements.update(mc.requirements)
            except ExpressionError as e:
                problems.append(Problem(e.message, file=policy.source, line=policy.line("clauses", i, "when"),
                                        field=f"clauses.{i}", fix=e.fix))
                continue
            compiled.append(CompiledClause(clause, policy, order, when, atom_exprs, amount,
                                           _amount_inputs(clause, mc, schema), comp.requirements))
            requirements.update(comp.requirements)
            order += 1
        if policy.enterprise_cap is not None:
            comp = Compiler(schema, policy.params, as_of)
            try:
                cap_amount = finish_amount(comp.amount(policy.enterprise_cap[0]), None, "fen", "half_up")
                caps[policy.id] = (cap_amount, comp.predicate(policy.enterprise_cap[1]))
                requirements.update(comp.requirements)
            except ExpressionError as e:
                problems.append(Problem(e.message, file=policy.source, line=policy.line("enterprise_cap"),
                                        field="enterprise_cap", fix=e.fix))
    if problems:
        raise PolicyError(problems)
    return CompiledPolicies(schema, as_of, list(policies), compiled, requirements, caps, skipped)
