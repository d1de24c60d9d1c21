"""Sparse match results of a population frame: eligible, unknown, excluded and near misses.

Everything else is ineligible and is not stored (never a dense enterprise × clause matrix).

A **near miss** is a pair whose condition is false while exactly one of the clause's atoms
(`CompiledClause.atoms`) is false and every other atom is true — turning that one fact around
would make the enterprise eligible. Only clauses with at least two atoms that read data are
considered (with a single data atom every ineligible enterprise would be a near miss), the
failing atom must read data (a date window that closed is not a near miss), and a clause
that negates a group (`not (a or b)`) is skipped because flipping one atom of it does not
make the condition true. Near misses carry the amount the formula gives on the enterprise's
current facts (null when unknown or negative) — an indication of value, not a promise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import polars as pl

from zhida.rules import ast, frame
from zhida.rules.engine import CompiledClause, CompiledPolicies, assumed_bounds

STATUSES = ("eligible", "unknown", "excluded", "near_miss")
STATUS = pl.Enum(STATUSES)
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "uscc": pl.String(), "clause": pl.String(), "policy": pl.String(), "policy_version": pl.String(),
    "status": STATUS, "amount_fen": pl.Int64(), "atom": pl.Int16(),
}
Progress = Callable[[str, int, int], None]   # (what, done, total)


def profile_requirements(as_of: date) -> frame.Requirements:
    """The descriptive columns every run keeps for whitelists and summaries: name, district,
    industry and size (划型 on last year's figures)."""
    return frame.Requirements(fields={("enterprise_name", None), ("district_code", None),
                                      ("industry_code", None), ("enterprise_size", str(as_of.year - 1))})


def size_column(as_of: date) -> str:
    return frame.field_column("enterprise_size", str(as_of.year - 1))


def _monotone(node: ast.Node) -> bool:
    """No negated group: flipping one false atom to true can only help."""
    return not any(isinstance(n, ast.Not) and isinstance(n.operand, ast.BoolOp) for n in ast.walk(node))


def near_miss_candidate(c: CompiledClause) -> bool:
    return sum(1 for _, _, cols in c.atoms if cols) >= 2 and _monotone(c.clause.when)


def _near_miss_exprs(c: CompiledClause, height: int) -> tuple[pl.Expr, pl.Expr]:
    """(rows that are near misses, the index of the failing atom on those rows)."""
    n = len(c.atoms)
    false = [e.eq(False).fill_null(False).cast(pl.UInt16) for _, e, _ in c.atoms]
    true = [e.fill_null(False).cast(pl.UInt16) for _, e, _ in c.atoms]
    failing = pl.coalesce([pl.when(e.eq(False)).then(pl.lit(i, dtype=pl.Int16))
                           for i, (_, e, cols) in enumerate(c.atoms) if cols])
    hit = ((pl.sum_horizontal(false) == 1) & (pl.sum_horizontal(true) == n - 1)
           & c.when.eq(False).fill_null(False) & failing.is_not_null())
    hit = pl.repeat(hit, pl.lit(height, dtype=pl.UInt32)) if not hit.meta.root_names() else hit
    return hit, failing


def near_misses(compiled: CompiledPolicies, df: pl.DataFrame, *, batch_size: int = 200,
                progress: Progress | None = None) -> pl.DataFrame:
    """row, clause (key), atom, amount_fen for every near miss. `df` must be prepared."""
    clauses = [(i, c) for i, c in enumerate(compiled.clauses) if near_miss_candidate(c)]
    bounds = {**assumed_bounds(compiled.schema, compiled.requirements), **compiled.bounds(df)}
    parts = []
    for start in range(0, len(clauses), batch_size):
        batch = clauses[start:start + batch_size]
        exprs = []
        for i, (_, c) in enumerate(batch):
            hit, failing = _near_miss_exprs(c, df.height)
            exprs += [hit.arg_true().implode().alias(f"r{i}"), failing.filter(hit).implode().alias(f"a{i}")]
        found = df.select(exprs)
        selected = []
        atoms = []
        for i, (index, c) in enumerate(batch):
            rows = found.get_column(f"r{i}")[0]
            if rows.len():
                selected.append((index, c, rows.cast(pl.UInt32).rename("row")))
                atoms.append(found.get_column(f"a{i}")[0])
        if selected:
            # amounts the pairs would get: the engine's vectorised amount path on these rows only
            amounts = compiled._amounts(df, selected, bounds)
            parts.append(pl.DataFrame({
                "row": amounts.get_column("row"),
                "clause": pl.Series([c.key for _, c, rows in selected for _ in range(rows.len())],
                                    dtype=pl.String),
                "atom": pl.concat(atoms).cast(pl.Int16),
                "amount_fen": amounts.get_column("amount_fen"),
            }).with_columns(  # a negative formula value (e.g. on a loss) is no amount at all
                amount_fen=pl.when(pl.col("amount_fen") >= 0).then(pl.col("amount_fen"))))
        if progress:
            progress("near_miss", min(start + batch_size, len(clauses)), len(clauses))
    if not parts:
        return pl.DataFrame(schema={"row": pl.UInt32, "clause": pl.String, "atom": pl.Int16, "amount_fen": pl.Int64})
    return pl.concat(parts)


def match_frame(compiled: CompiledPolicies, df: pl.DataFrame, *, progress: Progress | None = None,
                keys: Sequence[str] | None = None) -> pl.DataFrame:
    """Sparse results (RESULT_SCHEMA) of every clause over every row of `df`, sorted by
    (clause, uscc) so that equal inputs give byte-identical output. `keys` keeps only those
    clauses' pairs (for incremental updates of part of a policy set)."""
    df = compiled.prepare(df)
    if progress:
        progress("match", 0, 1)
    decided = compiled.evaluate(df).with_columns(
        pl.col("clause").cast(pl.String), pl.col("status").cast(pl.String).cast(STATUS),
        atom=pl.lit(None, dtype=pl.Int16))
    if progress:
        progress("match", 1, 1)
    near = near_misses(compiled, df, progress=progress).with_columns(
        status=pl.lit("near_miss", dtype=STATUS)).select(decided.columns)
    ids = df.get_column(frame.ID_COLUMN)
    policy_of = {c.key: c.policy.id for c in compiled.clauses}
    version_of = {c.key: c.policy.content_hash for c in compiled.clauses}
    out = pl.concat([decided, near])
    out = out.with_columns(uscc=pl.lit(ids).gather(pl.col("row")).cast(pl.String),
                           policy=pl.col("clause").replace_strict(policy_of, return_dtype=pl.String),
                           policy_version=pl.col("clause").replace_strict(version_of, return_dtype=pl.String))
    if keys is not None:
        out = out.filter(pl.col("clause").is_in(list(keys)))
    return out.select(list(RESULT_SCHEMA)).cast(RESULT_SCHEMA).sort(["clause", "uscc"])  # type: ignore[arg-type]
