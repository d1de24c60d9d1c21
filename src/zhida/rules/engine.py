"""Whole-population evaluation: every clause over every enterprise, in Polars, once.

Results are sparse: only (enterprise, clause) pairs that are eligible, unknown or excluded
by an exclusivity rule are returned; everything else is ineligible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from zhida.rules import ast, frame
from zhida.rules.compile import ROUNDING_MODES, Compiler, Numeric, const, rescale
from zhida.rules.errors import ExpressionError, FrameError, PolicyError, Problem
from zhida.rules.policy import Clause, Policy
from zhida.rules.schema import Schema
from zhida.rules.types import Env, Typer

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


def finish_amount(compiler: Compiler, raw: Numeric, cap: Numeric | None, unit: str, mode: str) -> pl.Expr:
    """Cap, then round to the clause's unit, as integer fen. Null stays null."""
    if cap is not None:
        if raw.const is not None and cap.const is not None:
            raw = const(min(raw.const, cap.const))
        else:
            raw = compiler._extreme("min", [raw, cap])
    digits = ROUNDING_DIGITS[unit]
    if digits < 0:  # to hundreds, thousands, 万 yuan: round value / 10^-digits to an integer
        raw = Numeric(raw.expr, raw.scale - digits,
                      raw.const / 10**-digits if raw.const is not None else None, raw.bound)
        digits_at = 0
    else:
        digits_at = digits
    rounded = rescale(raw, digits_at, mode).cast(pl.Int64)
    factor = 10 ** (2 - digits)
    return rounded if factor == 1 else rounded * pl.lit(factor, dtype=pl.Int64)


@dataclass(frozen=True)
class RawAmount:
    """An amount before rounding: expr / 10^shift is rounded by `mode` to an integer, which
    times `factor` is fen. A negative shift multiplies instead (exact)."""

    expr: pl.Expr
    shift: int
    mode: str
    factor: int


def round_long(long: pl.DataFrame) -> pl.DataFrame:
    """Round every pair's raw amount at once (columns raw, up, div, mode, factor) → amount_fen.

    The same integer rounding as compile.round_div_const, vectorised over clauses whose
    scales and modes differ; each step is its own column, so nothing is computed twice.
    """
    if long.is_empty():
        return long.with_columns(amount_fen=pl.lit(None, dtype=pl.Int64))
    # Int64 when every scaled value provably fits (the usual case), else Int128: same result.
    extremes = long.select(pl.col("raw").abs().max().alias("raw"), pl.col("up").max().alias("up")).row(0)
    widest = None if extremes[0] is None else int(extremes[0]) * int(extremes[1])
    dtype = pl.Int64() if widest is None or widest < 2**62 else pl.Int128()
    n, d = pl.col("n"), pl.col("div").cast(dtype)
    twice = pl.col("r") * 2
    bumps = {
        "half_up": (twice > d) | ((twice == d) & (n >= 0)),
        "half_even": (twice > d) | ((twice == d) & (pl.col("q") % 2 != 0)),
        "ceil": pl.col("r") != 0,
        "down": (pl.col("r") != 0) & (n < 0),
        "up": (pl.col("r") != 0) & (n >= 0),
        "floor": pl.lit(False),
    }
    modes = [ROUNDING_MODES[m] for m in long.get_column("mode").unique().to_list()]
    if len(modes) == 1:  # the usual batch: one rounding mode, no per-row choice
        bump = bumps[modes[0]]
    else:
        chain = pl.when(pl.col("mode") == ROUNDING_MODES.index(modes[0])).then(bumps[modes[0]])
        for m in modes[1:]:
            chain = chain.when(pl.col("mode") == ROUNDING_MODES.index(m)).then(bumps[m])  # type: ignore[assignment]
        bump = chain.otherwise(pl.lit(False))
    return (long.with_columns(n=pl.col("raw").cast(dtype) * pl.col("up").cast(dtype))
            .with_columns(q=pl.col("n").floordiv(d))
            .with_columns(r=pl.col("n") - pl.col("q") * d)
            .with_columns(amount_fen=((pl.col("q") + bump.cast(dtype)) * pl.col("factor")).cast(pl.Int64))
            .drop("n", "q", "r"))


@dataclass
class CompiledClause:
    clause: Clause
    policy: Policy
    order: int
    when: pl.Expr
    atoms: list[tuple[ast.Node, pl.Expr, list[str]]]
    amount_columns: list[str]
    requirements: frame.Requirements
    schema: Schema
    as_of: date
    typer: Typer | None = field(default=None, repr=False)
    _raw_cache: dict[tuple[tuple[str, int], ...], RawAmount] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return self.clause.key

    def _compiler(self, rows: pl.Series | None, bounds: Mapping[str, int] | None = None) -> Compiler:
        return Compiler(self.schema, self.policy.params, self.as_of, rows, bounds, self.typer)

    def amount_on(self, rows: pl.Series, bounds: Mapping[str, int] | None = None) -> pl.Expr:
        """The finished amount (integer fen) evaluated on the given frame rows only.

        `bounds` (largest magnitude per numeric column) lets the arithmetic stay in Int64
        where it provably cannot overflow; results are identical either way."""
        comp = self._compiler(rows, bounds)
        raw = comp.amount(self.clause.amount)
        cap = comp.amount(self.clause.cap) if self.clause.cap is not None else None
        spec = self.clause.spec.rounding
        out = finish_amount(comp, raw, cap, spec.unit, spec.mode)
        if not self.amount_columns:  # a constant: broadcast it to the rows
            out = pl.repeat(out, pl.lit(rows.len(), dtype=pl.UInt32))
        return out

    @property
    def verdict_column(self) -> str:
        """The column that holds this clause's condition while a batch is evaluated."""
        return f"__when_{self.order}"

    @property
    def candidates(self) -> pl.Expr:
        """Rows where the condition is not false (true or unknown), materialised per batch."""
        return pl.col(f"__candidate_{self.order}")

    def raw_amount(self, bounds: Mapping[str, int]) -> RawAmount:
        """The capped amount before rounding, on the candidate rows only, with how to round it.

        Compiled once per set of bounds: with the schema's assumed bounds at compile time,
        again only if the data exceed them (then wider integers keep it exact)."""
        key = tuple(sorted((c, b) for c, b in bounds.items() if c in self.amount_columns))
        cached = self._raw_cache.get(key)
        if cached is not None:
            return cached
        comp = Compiler(self.schema, self.policy.params, self.as_of, None, bounds, self.typer, self.candidates)
        raw = comp.amount(self.clause.amount)
        if self.clause.cap is not None:
            cap = comp.amount(self.clause.cap)
            raw = const(min(raw.const, cap.const)) if raw.const is not None and cap.const is not None else (
                comp._extreme("min", [raw, cap]))
        spec = self.clause.spec.rounding
        digits = ROUNDING_DIGITS[spec.unit]
        expr = raw.at(raw.scale).cast(pl.Int128)
        if not expr.meta.root_names():  # a constant: one value per candidate row
            expr = pl.repeat(expr, self.candidates.sum())
        out = RawAmount(expr, raw.scale - digits, spec.mode, 10 ** (2 - digits))
        self._raw_cache[key] = out
        return out

    def missing_on(self, rows: pl.Series) -> pl.Expr:
        """For each given row, the frame columns whose absence left the pair undecided:
        inputs of unknown atoms, and inputs of the amount when the amount is unknown."""
        comp = self._compiler(rows)
        exprs = []
        for node, _expr, cols in self.atoms:
            verdict = comp.predicate(node)
            exprs += [pl.when(verdict.is_null() & comp._col(col).is_null()).then(pl.lit(col)) for col in cols]
        amount = self.amount_on(rows)
        exprs += [pl.when(amount.is_null() & comp._col(col).is_null()).then(pl.lit(col)) for col in self.amount_columns]
        if not exprs:
            return pl.repeat(pl.lit([], dtype=pl.List(pl.String)), pl.lit(rows.len(), dtype=pl.UInt32))
        return pl.concat_list([e.cast(pl.String) for e in exprs]).list.drop_nulls().list.unique(maintain_order=True)


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

    def prepare(self, df: pl.DataFrame) -> pl.DataFrame:
        """Check that the frame has every required column, and give code columns the
        Categorical encoding of decision 0001 (membership tests are ~30× faster on it)."""
        missing = [c for c in [frame.ID_COLUMN, *self.requirements.columns()] if c not in df.columns]
        if missing:
            raise FrameError("画像数据缺少以下列：" + "、".join(missing[:20])
                             + ("……" if len(missing) > 20 else ""))
        codes = [frame.field_column(f, p) for f, p in self.requirements.fields
                 if self.schema.fields[f].type == "code"]
        to_cast = [c for c in codes if df.schema[c] == pl.String]
        return df.with_columns(pl.col(to_cast).cast(pl.Categorical)) if to_cast else df

    def evaluate(self, df: pl.DataFrame, *, batch_size: int = 200, diagnose: bool = False) -> pl.DataFrame:
        """Sparse results for every clause over every row of `df`.

        Columns: row (UInt32), clause (Enum of clause keys), status (eligible|unknown|excluded),
        amount_fen (Int64; for an unknown pair, the amount it would get if the condition
        holds, when that is known), and with `diagnose` also missing (the frame columns whose
        absence left an unknown pair undecided).

        Per batch of clauses: (1) one select evaluates every condition over the whole frame
        and keeps its candidate rows (true or unknown); (2) each clause's candidate rows are
        gathered and, in one parallel query over all of them, the condition (true vs
        unknown) and the amount before rounding are computed; (3) rounding to each clause's
        unit runs once, vectorised, over every pair of the batch.
        """
        df = self.prepare(df)
        bounds = {**assumed_bounds(self.schema, self.requirements), **self.bounds(df)}
        keys = pl.Enum(self.keys)
        parts: list[pl.DataFrame] = []
        for start in range(0, len(self.clauses), batch_size):
            batch = self.clauses[start : start + batch_size]
            parts.append(self._batch(df, batch, bounds))
        if not parts:
            return self.post_process(df, empty_results(keys, diagnose))
        # clause codes are compile-time orders; name them by gathering from the Enum of keys
        position = np.zeros(max(c.order for c in self.clauses) + 1, dtype=np.uint32)
        position[[c.order for c in self.clauses]] = np.arange(len(self.clauses), dtype=np.uint32)
        names = pl.Series("clause", self.keys, dtype=keys)
        out = pl.concat(parts)
        out = out.with_columns(
            clause=names.gather(position[out.get_column("clause").to_numpy()]),
            status=pl.when(pl.col("holds") & pl.col("amount_fen").is_not_null())
            .then(pl.lit("eligible")).otherwise(pl.lit("unknown")).cast(STATUS),
        ).select("row", "clause", "status", "amount_fen")
        if diagnose:
            out = self._diagnose(df, out)
        return self.post_process(df, out)

    def _batch(self, df: pl.DataFrame, batch: list[CompiledClause], bounds: Mapping[str, int]) -> pl.DataFrame:
        """Candidates, verdicts and amounts (integer fen) for one batch of clauses."""
        # 1. every condition over the whole frame, kept as a column for step 2
        verdicts = df.with_columns(*[_full(c.when, df.height).alias(c.verdict_column) for c in batch])
        verdicts = verdicts.with_columns(*[pl.col(c.verdict_column).fill_null(True).alias(f"__candidate_{c.order}")
                                           for c in batch])
        # 2. per clause, on its candidate rows only: row numbers, verdicts, raw amounts
        raws = [c.raw_amount(bounds) for c in batch]
        values = verdicts.select(*[e for j, (c, raw) in enumerate(zip(batch, raws, strict=True)) for e in (
            c.candidates.arg_true().cast(pl.UInt32).implode().alias(f"r{j}"),
            pl.col(c.verdict_column).filter(c.candidates).fill_null(False).implode().alias(f"h{j}"),
            raw.expr.implode().alias(f"a{j}"))])
        n = list(values.select(pl.col(f"r{j}").list.len() for j in range(len(batch))).row(0))
        long = pl.DataFrame({
            "row": _flatten(values, "r", len(batch)),
            "clause": np.repeat(np.array([c.order for c in batch], dtype=np.uint32), n),
            "holds": _flatten(values, "h", len(batch)),
            "raw": _flatten(values, "a", len(batch)),
            "up": np.repeat(np.array([10 ** max(0, -r.shift) for r in raws], dtype=np.int64), n),
            "div": np.repeat(np.array([10 ** max(0, r.shift) for r in raws], dtype=np.int64), n),
            "mode": np.repeat(np.array([ROUNDING_MODES.index(r.mode) for r in raws], dtype=np.uint8), n),
            "factor": np.repeat(np.array([r.factor for r in raws], dtype=np.int64), n),
        })
        return round_long(long).drop("raw", "up", "div", "mode", "factor")

    def bounds(self, df: pl.DataFrame) -> dict[str, int]:
        """The largest magnitude of every numeric column the policies read, where it
        exceeds the assumed magnitude (so amounts compiled in advance are rarely redone)."""
        numeric = [frame.field_column(f, p) for f, p in self.requirements.fields
                   if self.schema.fields[f].type in ("money", "count", "number", "percent")]
        if not numeric:
            return {}
        row = df.select([pl.col(c).cast(pl.Int128).abs().max().alias(c) for c in numeric]).row(0, named=True)
        assumed = assumed_bounds(self.schema, self.requirements)
        return {c: int(v) for c, v in row.items() if v is not None and int(v) > assumed.get(c, 0)}

    def _diagnose(self, df: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
        """Add the missing facts of every unknown pair."""
        unknown = results.with_row_index("_i").filter(pl.col("status") == "unknown")
        lists: list[pl.Series] = []
        index: list[pl.Series] = []
        by_key = {c.key: c for c in self.clauses}
        for (key,), part in unknown.group_by("clause", maintain_order=True):
            rows = part.get_column("row")
            lists.append(df.select(by_key[str(key)].missing_on(rows).alias("missing")).to_series())
            index.append(part.get_column("_i"))
        if not lists:
            return results.with_columns(missing=pl.lit([], dtype=pl.List(pl.String)))
        missing = pl.DataFrame({"_i": pl.concat(index), "missing": pl.concat(lists)})
        return (results.with_row_index("_i").join(missing, on="_i", how="left")
                .with_columns(pl.col("missing").fill_null(pl.lit([], dtype=pl.List(pl.String)))).drop("_i"))

    def post_process(self, df: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
        results = apply_exclusivity(results, self.clauses)
        if self.caps:
            results = apply_enterprise_caps(df, results, self)
        return results


ASSUMED_MAGNITUDE = {"money": 10**15, "count": 10**9, "number": 10**12, "percent": 10**12}


def assumed_bounds(schema: Schema, requirements: frame.Requirements) -> dict[str, int]:
    """Magnitudes amounts are compiled for before the data are seen: 10万亿 yuan in fen,
    a billion heads, 10^12 for scaled numbers. Real bounds replace them when larger."""
    return {frame.field_column(f, p): ASSUMED_MAGNITUDE[schema.fields[f].type]
            for f, p in requirements.fields if schema.fields[f].type in ASSUMED_MAGNITUDE}


def _flatten(values: pl.DataFrame, prefix: str, count: int) -> pl.Series:
    """The list columns prefix0 … prefix{count-1} of a one-row frame, end to end."""
    return (values.select(f"{prefix}{j}" for j in range(count)).unpivot()
            .select(pl.col("value").list.explode(empty_as_null=False)).to_series())


def _gathered(df: pl.DataFrame, columns: list[str], rows: pl.Series) -> pl.DataFrame:
    """The given columns at the given rows, with the row numbers as column `row`."""
    if not columns:
        return rows.to_frame()
    return df.select(columns).gather(rows).with_columns(rows)


def _full(expr: pl.Expr, height: int) -> pl.Expr:
    """Broadcast a condition to the frame's height (a constant condition is one value)."""
    return pl.repeat(expr, pl.lit(height, dtype=pl.UInt32)) if not expr.meta.root_names() else expr


def empty_results(keys: pl.Enum, diagnose: bool) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"row": pl.UInt32(), "clause": keys, "status": STATUS,
                                      "amount_fen": pl.Int64()}
    if diagnose:
        schema["missing"] = pl.List(pl.String())
    return pl.DataFrame(schema=schema)


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
        typer = Typer(Env(schema, {k: p.type_base for k, p in policy.params.items()}))
        for i, clause in enumerate(policy.clauses):
            comp = Compiler(schema, policy.params, as_of, typer=typer)
            stage = "when"
            try:
                when = comp.predicate(clause.when)
                atom_exprs = []
                for a in atoms(clause.when):
                    ac = Compiler(schema, policy.params, as_of, typer=typer)
                    atom_exprs.append((a, ac.predicate(a), ac.requirements.columns()))
                stage = "amount"
                mc = Compiler(schema, policy.params, as_of, typer=typer)
                mc.amount(clause.amount)
                if clause.cap is not None:
                    stage = "cap"
                    mc.amount(clause.cap)
                comp.requirements.update(mc.requirements)
            except ExpressionError as e:
                base = policy.line("clauses", i, stage)
                problems.append(Problem(e.message, file=policy.source, line=None if base is None else base + e.line - 1,
                                        field=f"clauses.{i}.{stage}", fix=e.fix))
                continue
            cc = CompiledClause(clause, policy, order, when, atom_exprs,
                                _amount_inputs(clause, mc, schema), comp.requirements, schema, as_of, typer)
            cc.raw_amount(assumed_bounds(schema, cc.requirements))  # compile the batch form now
            compiled.append(cc)
            requirements.update(comp.requirements)
            order += 1
        if policy.enterprise_cap is not None:
            comp = Compiler(schema, policy.params, as_of)
            try:
                cap_amount = finish_amount(comp, comp.amount(policy.enterprise_cap[0]), None, "fen", "half_up")
                caps[policy.id] = (cap_amount, comp.predicate(policy.enterprise_cap[1]))
                requirements.update(comp.requirements)
            except ExpressionError as e:
                problems.append(Problem(e.message, file=policy.source, line=policy.line("enterprise_cap"),
                                        field="enterprise_cap", fix=e.fix))
    if problems:
        raise PolicyError(problems)
    return CompiledPolicies(schema, as_of, list(policies), compiled, requirements, caps, skipped)
