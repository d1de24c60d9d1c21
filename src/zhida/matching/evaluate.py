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

Only the most valuable near miss per (enterprise, policy) is kept (NEAR_MISSES_PER_POLICY):
with clauses of two or three atoms, a fifth of all pairs can miss by one atom, which would make
the results nearly dense (on the benchmark pack, 21% of 1 billion pairs). Per policy rather than
per enterprise, so that re-matching whole policies (incremental.py) equals a full run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
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
NEAR_MISSES_PER_POLICY = 1   # kept per (enterprise, policy): the most valuable


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


_EXPRS: dict[int, tuple[CompiledClause, pl.Expr | None]] = {}
_NULL = 1 << 40   # any unknown atom: never a near miss
_SHIFT = 256      # atoms per clause are far fewer


def _pure_and(c: CompiledClause) -> bool:
    """The condition is the conjunction of its atoms (then one false atom makes it false)."""
    w = c.clause.when
    return (isinstance(w, ast.BoolOp) and w.op == "and" and len(w.items) == len(c.atoms)) or len(c.atoms) == 1


def _near_miss_expr(c: CompiledClause) -> pl.Expr | None:
    """One Int64 per near-miss row, row * 65536 + index of the failing atom, as a list; None
    when the clause can have no near miss. Built once per compiled clause.

    Each atom is read once: true scores 0, false 1 + index·256, unknown 2^40; the row is a near
    miss when the sum is < 2^40 with exactly one false (sum mod 256 == 1)."""
    cached = _EXPRS.get(id(c))
    if cached is not None and cached[0] is c:
        return cached[1]
    expr: pl.Expr | None = None
    constants = [e for _, e, cols in c.atoms if not cols]
    if not constants or all(pl.select(e.fill_null(False)).item() for e in constants):
        scores = [((1 - e.cast(pl.Int64)) * (1 + i * _SHIFT)).fill_null(_NULL) for i, (_, e, _) in enumerate(c.atoms)]
        total = pl.sum_horizontal(scores)
        hit = (total % _SHIFT == 1) & (total < _NULL)
        if not _pure_and(c):
            hit = hit & c.when.eq(False).fill_null(False)
        expr = (pl.int_range(pl.len(), dtype=pl.Int64) * 65536 + total // _SHIFT).filter(hit).implode()
    if len(_EXPRS) > 100_000:
        _EXPRS.clear()
    _EXPRS[id(c)] = (c, expr)
    return expr


def near_misses(compiled: CompiledPolicies, df: pl.DataFrame, *, batch_size: int = 200,
                progress: Progress | None = None, amounts: bool = True,
                per_policy: int = NEAR_MISSES_PER_POLICY) -> pl.DataFrame:
    """row, clause (key), atom, amount_fen of the near misses kept: at most `per_policy` per
    (enterprise, policy), the most valuable. `df` must be prepared."""
    best = _near_misses(compiled, df, batch_size=batch_size, progress=progress, amounts=amounts,
                        per_policy=per_policy)
    keys = pl.Series("clause", compiled.keys, dtype=pl.String)
    return best.select("row", clause=keys.gather(best.get_column("order")), atom="atom", amount_fen="amount_fen")


def _near_misses(compiled: CompiledPolicies, df: pl.DataFrame, *, batch_size: int = 200,
                progress: Progress | None = None, amounts: bool = True,
                per_policy: int = NEAR_MISSES_PER_POLICY) -> pl.DataFrame:
    """row, order (clause index), atom, amount_fen: near_misses() before naming the clauses."""
    clauses = [(i, c) for i, c in enumerate(compiled.clauses) if near_miss_candidate(c)]
    policy_index = {p.id: i for i, p in enumerate(compiled.policies)}
    bounds = {**assumed_bounds(compiled.schema, compiled.requirements), **compiled.bounds(df)}
    parts = []
    for start in range(0, len(clauses), batch_size):
        batch = clauses[start:start + batch_size]
        exprs = {}
        for i, (_, c) in enumerate(batch):
            e = _near_miss_expr(c)
            if e is not None:
                exprs[i] = e.alias(f"n{i}")
        found = df.select(list(exprs.values())) if exprs else pl.DataFrame()
        selected = []
        atoms = []
        for i, (index, c) in enumerate(batch):
            if i not in exprs:
                continue
            packed = found.get_column(f"n{i}")[0]
            if packed.len():
                selected.append((index, c, (packed // 65536).cast(pl.UInt32).rename("row")))
                atoms.append(packed % 65536)
        if selected:
            n = [rows.len() for _, _, rows in selected]
            part = pl.DataFrame({
                "row": pl.concat([rows for _, _, rows in selected]),
                "order": np.repeat(np.array([i for i, _, _ in selected], dtype=np.uint32), n),
                "policy": np.repeat(np.array([policy_index[c.policy.id] for _, c, _ in selected], dtype=np.uint32), n),
                "atom": pl.concat(atoms).cast(pl.Int16),
            })
            if amounts:  # what the pairs would get: the engine's finished amount on these rows only
                sums = df.select([c.amount_on(rows, bounds).implode().alias(f"m{j}")
                                  for j, (_, c, rows) in enumerate(selected)])
                fen = pl.concat([sums.get_column(f"m{j}")[0].cast(pl.Int64) for j in range(len(selected))])
                part = part.with_columns(amount_fen=pl.when(fen >= 0).then(fen))  # a loss is no amount
            else:
                part = part.with_columns(amount_fen=pl.lit(None, dtype=pl.Int64))
            parts.append(_best(part, per_policy))
        if progress:
            progress("near_miss", min(start + batch_size, len(clauses)), len(clauses))
    if not parts:
        return pl.DataFrame(schema={"row": pl.UInt32, "order": pl.UInt32, "policy": pl.UInt32, "atom": pl.Int16,
                                    "amount_fen": pl.Int64})
    return _best(pl.concat(parts), per_policy)


def _best(part: pl.DataFrame, k: int) -> pl.DataFrame:
    """The k most valuable near misses per (enterprise, policy): largest amount first (unknown
    last), then the clause listed first — a total order, so pruning per batch of clauses and
    again over all batches gives the same rows."""
    return (part.sort(["row", "policy", "amount_fen", "order"], descending=[False, False, True, False],
                      nulls_last=True)
            .group_by(["row", "policy"], maintain_order=True).head(k))


def match_frame(compiled: CompiledPolicies, df: pl.DataFrame, *, progress: Progress | None = None,
                keys: Sequence[str] | None = None, with_near_misses: bool = True) -> pl.DataFrame:
    """Sparse results (RESULT_SCHEMA) of every clause over every row of `df`, sorted by
    (uscc, clause) so that equal inputs give byte-identical output. `keys` keeps only those
    clauses' pairs (for incremental updates of part of a policy set)."""
    df = compiled.prepare(df)
    names = compiled.keys
    if progress:
        progress("match", 0, 1)
    decided = compiled.evaluate(df)
    decided = decided.select(
        "row", order=decided.get_column("clause").to_physical().cast(pl.UInt32),  # Enum codes follow compiled.keys
        status=pl.col("status").cast(pl.String).cast(STATUS), amount_fen="amount_fen",
        atom=pl.lit(None, dtype=pl.Int16))
    if progress:
        progress("match", 1, 1)
    if with_near_misses:
        near = _near_misses(compiled, df, progress=progress).select(
            "row", "order", status=pl.lit("near_miss", dtype=STATUS), amount_fen="amount_fen", atom="atom")
    else:
        near = decided.clear()
    out = pl.concat([decided, near])
    if keys is not None:
        wanted = set(keys)
        out = out.filter(pl.col("order").is_in([i for i, k in enumerate(names) if k in wanted]))
    # sort on integer ranks that follow the string order of uscc and clause key, then name them
    ids = df.get_column(frame.ID_COLUMN).cast(pl.String)
    clause_rank = np.empty(len(names), dtype=np.uint32)
    clause_rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names), dtype=np.uint32)
    uscc_rank = ids.rank("ordinal").cast(pl.UInt32)
    out = out.with_columns(_u=uscc_rank.gather(out.get_column("row")),
                           _c=pl.Series(clause_rank).gather(out.get_column("order"))).sort(["_u", "_c"])
    order = out.get_column("order")
    return pl.DataFrame({
        "uscc": ids.gather(out.get_column("row")),
        "clause": pl.Series(names, dtype=pl.String).gather(order),
        "policy": pl.Series([c.policy.id for c in compiled.clauses], dtype=pl.String).gather(order),
        "policy_version": pl.Series([c.policy.content_hash for c in compiled.clauses], dtype=pl.String).gather(order),
        "status": out.get_column("status"), "amount_fen": out.get_column("amount_fen"), "atom": out.get_column("atom"),
    }).cast(RESULT_SCHEMA)  # type: ignore[arg-type]
