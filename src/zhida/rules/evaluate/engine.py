"""Whole-population evaluation: every clause over every enterprise, in Polars, once.

Results are sparse: only (enterprise, clause) pairs that are eligible, unknown or excluded
by an exclusivity rule are returned, and near misses of the clauses asked for; everything
else is ineligible.

Near misses (one failing atom, clause.py) are returned for the clauses asked for. A compiled
clause is clause.CompiledClause; this module holds the set of them and its evaluation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from zhida.rules.evaluate import vectorised
from zhida.rules.evaluate.allocate import STATUS, apply_enterprise_caps, apply_exclusivity
from zhida.rules.evaluate.atoms import SharedConditions, share
from zhida.rules.evaluate.bitsets import CodeBits
from zhida.rules.evaluate.clause import CompiledClause, atoms
from zhida.rules.evaluate.compile import Compiler
from zhida.rules.evaluate.rounding import RawAmount, finish_amount, round_long
from zhida.rules.evaluate.rowwise import ROWWISE_MAX, evaluate_rows
from zhida.rules.evaluate.vectorised import Columns
from zhida.rules.lang import ast, frame
from zhida.rules.lang.errors import AmountOverflow, ExpressionError, FrameError, PolicyError, Problem
from zhida.rules.lang.scaled import ROUNDING_MODES
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env
from zhida.rules.model.policy import Policy


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
    # what the interpreter remembers of these clauses' expressions (rowwise.py)
    memo: dict[int, tuple[ast.Node, Any]] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def keys(self) -> list[str]:
        """Clause keys in evaluation order (clauses are never changed in place: a subset or
        reordering is a new CompiledPolicies, dataclasses.replace)."""
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

    def near_miss_orders(self, which: str) -> frozenset[int]:
        """Compile orders of the clauses whose near misses a run keeps: `marked` (clauses
        with `near_misses: true`), `all` candidates, or `none`."""
        if which not in NEAR_MISS_MODES:
            raise ValueError(f"near misses: {which!r} is not one of {', '.join(NEAR_MISS_MODES)}")
        if which == "none":
            return frozenset()
        # whether a clause is a candidate walks its condition: ask only of the clauses wanted
        return frozenset(c.order for c in self.clauses
                         if (which == "all" or c.clause.spec.near_misses) and c.near_miss_candidate)

    def evaluate(self, df: pl.DataFrame, *, batch_size: int = 200, diagnose: bool = False,
                 near_misses: Collection[int] = (), progress: Callable[[int], None] | None = None,
                 method: str = "batch", vectorised: bool = True) -> pl.DataFrame:
        """Sparse results for every clause over every row of `df`, by clause then row.

        Columns: row (UInt32), clause (Enum of clause keys), status (allocate.STATUS),
        amount_fen (Int64; for an unknown pair, the amount it would get if the condition
        holds, when that is known); with `near_misses` (compile orders of the clauses whose
        near misses are wanted) also atom (Int16: the failing atom of a near miss); with
        `diagnose` also missing (the frame columns whose absence left an unknown pair
        undecided). `progress` is told how many clauses are done after each batch.

        Per batch of clauses: (1) the atoms the batch's conditions read that no earlier batch
        computed are computed over the whole frame (each distinct atom of the pack once per
        evaluation: atoms.py), and one select combines them into every condition; (2) one
        select takes, per clause, its candidate rows (true, unknown, or a near miss); the
        amount before rounding is computed on those rows only, by its program where the
        compiler's expression allows (vectorised.py: the batch's programs in one call of a
        compiled kernel that releases the GIL, kernel.py), else by Polars in `list.eval`
        over one gather of the amount's inputs (`_pairs`); (3) the batch's pairs are laid
        end to end, rounded to each clause's unit (by the kernel with the amount, else in
        one Polars query for all the others) and given their status. Nothing is
        computed for rows a clause rules out, and no per-pair column is materialised that is
        not read. Code-membership atoms are computed from bitmaps of their codes (bitsets.py).
        `vectorised=False` keeps every atom and every amount in Polars (the tests hold the
        two to each other).

        `method`: `batch` (the above), `rows` (the reference interpreter row by row:
        rowwise.py; the same results, far cheaper for a few rows), or `auto`: rows for
        frames of at most rowwise.ROWWISE_MAX rows unless `diagnose` is asked for. Policy
        cases and tests use `batch`, so that Polars is held to the interpreter.
        """
        if method not in ("auto", "batch", "rows"):
            raise ValueError(f"method: {method!r} is not one of auto, batch, rows")
        df = self.prepare(df)
        if method == "rows" or (method == "auto" and df.height <= ROWWISE_MAX and not diagnose):
            if diagnose:
                raise ValueError("diagnose needs the batch method")
            out = evaluate_rows(self, df, frozenset(near_misses))
            if progress is not None:
                progress(len(self.clauses))
            return self.post_process(df, out)
        numbered = df.with_row_index(ROW_COLUMN)
        keys = pl.Enum(self.keys)
        self.names  # noqa: B018 -- built here, before the workers read it
        near = frozenset(near_misses)
        parts: list[pl.DataFrame] = []
        atom_columns = _AtomColumns(df, self.shared, batch_size, bitsets=vectorised)
        # Atoms are computed here, batch after batch, while a worker evaluates the previous
        # batch's conditions and amounts: at most WORKERS batches in flight.
        in_flight: deque[tuple[int, Future[pl.DataFrame]]] = deque()

        def collect() -> None:
            stop, future = in_flight.popleft()
            parts.append(future.result())
            if progress is not None:
                progress(stop)

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            # what the amounts read, prepared by a worker while the first atoms are computed
            inputs = pool.submit(self._amount_inputs, df, vectorised)

            def evaluate_batch(atoms: pl.DataFrame, positions: range) -> pl.DataFrame:
                bounds, columns = inputs.result()
                return self._batch(numbered, atoms, positions, bounds, near, columns)

            for number, start in enumerate(range(0, len(self.clauses), batch_size)):
                positions = range(start, min(start + batch_size, len(self.clauses)))
                atoms = atom_columns.batch(number, positions)
                work = pool.submit(evaluate_batch, atoms, positions)
                in_flight.append((positions.stop, work))
                if len(in_flight) == WORKERS:
                    collect()
            while in_flight:
                collect()
        if not parts:
            out = empty_results(keys, diagnose)
            return self.post_process(df, out.with_columns(atom=pl.lit(None, dtype=pl.Int16)) if near else out)
        out = pl.concat(parts)
        if diagnose:
            out = self._diagnose(df, out)
        return self.post_process(df, out)

    @cached_property
    def shared(self) -> SharedConditions:
        """The conditions over shared atoms (atoms.py): each distinct atom computed once."""
        return share(self.clauses)

    def _amount_inputs(self, df: pl.DataFrame, vectorised: bool) -> tuple[dict[str, int], Columns | None]:
        """The magnitudes the amounts are compiled for (`bounds`), and the columns their
        programs read (None unless `vectorised`)."""
        bounds = {**assumed_bounds(self.schema, self.requirements), **self.bounds(df)}
        return bounds, self._program_columns(df, bounds) if vectorised else None

    def _program_columns(self, df: pl.DataFrame, bounds: Mapping[str, int]) -> Columns:
        """The frame columns the amounts' programs read, where the frame has them with the
        type the programs were built for (else those clauses use Polars)."""
        wanted: dict[str, pl.DataType] = {}
        for c in self.clauses:
            program = c.raw_amount(bounds).program
            if program is not None:
                wanted.update(program.fields)
        return Columns.of(df, wanted)

    def _batch(self, df: pl.DataFrame, atoms: pl.DataFrame, positions: range, bounds: Mapping[str, int],
               near: frozenset[int] = frozenset(), columns: Columns | None = None) -> pl.DataFrame:
        """One batch's pairs: row, clause (Enum of the keys), status (allocate.STATUS),
        amount_fen (integer fen; null for a near miss whose amount is negative), atom (the
        failing atom of a near miss; only when `near` is not empty).

        `df` carries the row numbers (ROW_COLUMN); `atoms` the atom columns the batch's
        conditions read (atoms.py); `columns` the inputs of the amounts' programs
        (`_program_columns`; None: every amount in Polars)."""
        batch = self.clauses[positions.start : positions.stop]
        # 1. every condition over the whole frame, from its atoms, kept as a column for step 2
        verdicts = atoms.select(*[self.shared.conditions[i].alias(c.verdict_column)
                                  for i, c in zip(positions, batch, strict=True)])
        frame_ = pl.concat([df, verdicts], how="horizontal")
        misses = {c.order: e for c in batch if c.order in near and (e := c.near_miss_atom()) is not None}
        if misses:
            frame_ = frame_.with_columns(*[e.alias(c.atom_column) for c in batch
                                           if (e := misses.get(c.order)) is not None])
        # 2. per clause, on its candidate rows only: row, verdict, amount before rounding, atom;
        # 3. rounded to each clause's unit: by the kernel for the clauses with a program
        # (vectorised.py), the others in Polars (`_rounded`)
        raws = [c.raw_amount(bounds) for c in batch]
        fast = [columns is not None and r.program is not None and c.order not in misses
                and all(f in columns.names for f in r.program.fields)
                and vectorised.fits(r.bound, *_rounding(r)[:2], r.factor) for c, r in zip(batch, raws, strict=True)]
        # one width for every clause on the Polars path, so that their pairs concatenate
        dtype = pl.Int128() if any(r.wide for r, f in zip(raws, fast, strict=True) if not f) else pl.Int64()
        pairs = frame_.select(*[e for j, (c, raw) in enumerate(zip(batch, raws, strict=True))
                                for e in (_candidates(c, j) if fast[j]
                                          else [_pairs(c, raw, dtype, c.order in misses, bool(near)).alias(f"p{j}")])])
        parts = []
        in_polars, in_kernel = [j for j, f in enumerate(fast) if not f], [j for j, f in enumerate(fast) if f]
        if in_polars:
            parts.append(self._rounded(df, pairs, in_polars, raws, positions, bool(near)))
        if in_kernel:
            assert columns is not None
            parts.append(_program_pairs(pairs, in_kernel, raws, columns, positions, bool(near)))
        rounded = parts[0] if len(parts) == 1 else pl.concat(parts).sort("clause", maintain_order=True)

        def status(name: str) -> pl.Expr:
            return pl.lit(name, dtype=STATUS)

        clause = self.names.gather(rounded.get_column("clause"))  # positions → the keys' Enum
        if not near:
            code = pl.when(pl.col("holds") & pl.col("amount_fen").is_not_null()).then(status("eligible")).otherwise(
                status("unknown"))
            return rounded.select("row", clause=clause, status=code, amount_fen="amount_fen")
        code = (pl.when(pl.col("atom").is_not_null()).then(status("near_miss"))
                .when(pl.col("holds") & pl.col("amount_fen").is_not_null()).then(status("eligible"))
                .otherwise(status("unknown")))
        return rounded.select(
            "row", clause=clause, status=code,
            amount_fen=pl.when(pl.col("atom").is_null() | (pl.col("amount_fen") >= 0)).then(pl.col("amount_fen")),
            atom="atom")

    def _rounded(self, df: pl.DataFrame, pairs: pl.DataFrame, which: list[int], raws: Sequence[RawAmount],
                 positions: range, with_atom: bool) -> pl.DataFrame:
        """The pairs of the batch's clauses `which` (their `_pairs` columns p{j}), laid end to
        end and rounded to each clause's unit in one Polars query: clause (position), row,
        holds, amount_fen[, atom]. What all these clauses share is given once, the rest per pair."""
        names = [f"p{j}" for j in which]
        chosen = [raws[j] for j in which]
        n = list(pairs.select(pl.col(names).list.len()).row(0))
        long = pairs.select(names).unpivot().select(pl.col("value").list.explode(empty_as_null=False)).unnest("value")
        per_clause = {k: [_rounding(r)[i] for r in chosen] for i, k in enumerate(("up", "div", "mode"))}
        per_clause["factor"] = [r.factor for r in chosen]
        same = {k: v[0] for k, v in per_clause.items() if len(set(v)) == 1}
        index = pl.Series(np.repeat(np.arange(len(which), dtype=np.uint32), n))   # each pair's clause in `which`
        long = long.with_columns(clause=pl.Series(np.array(which, dtype=np.uint32) + positions.start).gather(index), **{
            k: pl.Series(v, dtype=pl.UInt8 if k == "mode" else _int_dtype(v)).gather(index)
            for k, v in per_clause.items() if k not in same})
        try:
            rounded = round_long(long, wide=any(r.wide for r in chosen), same=same)
        except AmountOverflow as e:      # positions → clause keys, frame rows → USCCs where known
            offenders = [(self.keys[int(c)], r) for c, r in e.pairs]
            uscc = (df.get_column(frame.ID_COLUMN).cast(pl.String).gather([r for _, r in e.pairs]).to_list()
                    if frame.ID_COLUMN in df.columns else None)
            raise AmountOverflow(offenders, uscc) from None
        return rounded.select(pl.col("clause").cast(pl.UInt32), "row", "holds", "amount_fen",
                              *(["atom"] if with_atom else []))

    @cached_property
    def names(self) -> pl.Series:
        """The clause keys as an Enum series (position → key)."""
        return pl.Series("clause", self.keys, dtype=pl.Enum(self.keys))

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


NEAR_MISS_MODES = ("marked", "all", "none")
WORKERS = 3  # batches in flight: evaluated by workers while the main thread computes the next atoms
ROW_COLUMN = "__row"  # the frame's row numbers while a batch is evaluated
ASSUMED_MAGNITUDE = {"money": 10**15, "count": 10**9, "number": 10**12, "percent": 10**12}


def assumed_bounds(schema: Schema, requirements: frame.Requirements) -> dict[str, int]:
    """Magnitudes amounts are compiled for before the data are seen: 10万亿 yuan in fen,
    a billion heads, 10^12 for scaled numbers. Real bounds replace them when larger."""
    return {frame.field_column(f, p): ASSUMED_MAGNITUDE[schema.fields[f].type]
            for f, p in requirements.fields if schema.fields[f].type in ASSUMED_MAGNITUDE}


class _AtomColumns:
    """The atom columns of one evaluation, each computed once, for the batch that first
    needs it, and dropped after the last batch that reads it. Code-membership atoms on a
    Categorical column are computed from their codes' bitmaps (bitsets.py), the others by
    Polars."""

    def __init__(self, df: pl.DataFrame, shared: SharedConditions, batch_size: int, bitsets: bool = True) -> None:
        self.df = df
        self.shared = shared
        self.last_use = shared.last_use(batch_size)
        self.kept: dict[str, pl.Series] = {}
        self.codes = CodeBits(df) if bitsets else None

    def batch(self, number: int, positions: range) -> pl.DataFrame:
        """The atom columns the conditions of clauses `positions` (batch `number`) read."""
        names = list(dict.fromkeys(n for i in positions for n in self.shared.reads[i]))
        todo = [n for n in names if n not in self.kept]
        codes = self.codes
        as_bits = {} if codes is None else {
            n: m for n in todo if (m := self.shared.members.get(n)) is not None and codes.usable(m)}
        in_polars = [n for n in todo if n not in as_bits]
        if in_polars:
            new = self.df.select(*[_full(self.shared.atoms[n], self.df.height).alias(n) for n in in_polars])
            self.kept.update(zip(in_polars, new.iter_columns(), strict=True))
        if as_bits:
            assert codes is not None
            self.kept.update(zip(as_bits, codes.frame(as_bits).iter_columns(), strict=True))
        out = pl.DataFrame([self.kept[n] for n in names])
        for n in names:
            if self.last_use[n] == number:
                del self.kept[n]
        return out


def _pairs(c: CompiledClause, raw: RawAmount, dtype: pl.DataType, miss: bool, with_atom: bool) -> pl.Expr:
    """One clause's candidate pairs as a list of structs {row, holds, raw[, atom]}, over a
    frame with the row numbers and the batch's verdict (and near-miss atom) columns.

    The candidate rows (condition true or unknown, or a near miss) are gathered once,
    together with every input of the amount: the amount then costs in proportion to those
    rows, and an input named several times (a tier's variable) is still read once."""
    verdict = pl.col(c.verdict_column)
    candidate = verdict.fill_null(True)
    inputs = [pl.col(ROW_COLUMN), verdict.alias("__holds"), *[pl.col(x) for x in raw.columns]]
    if miss:
        candidate = candidate | pl.col(c.atom_column).is_not_null()
        inputs.append(pl.col(c.atom_column).alias("__atom"))
    field = pl.element().struct.field
    out = {"row": field(ROW_COLUMN), "holds": field("__holds").fill_null(False), "raw": raw.expr.cast(dtype)}
    if with_atom:  # the same fields for every clause of a run, so that batches concatenate
        out["atom"] = field("__atom") if miss else pl.lit(None, dtype=pl.Int16)
    rows = pl.col(ROW_COLUMN).filter(candidate)
    return pl.struct(inputs).gather(rows).implode().list.eval(pl.struct([e.alias(k) for k, e in out.items()]))


def _candidates(c: CompiledClause, j: int) -> list[pl.Expr]:
    """A clause's candidate rows (condition true or unknown) and its verdict on them, as
    lists, for an amount computed by its program (no near misses: those take `_pairs`)."""
    verdict = pl.col(c.verdict_column)
    candidate = verdict.fill_null(True)
    return [pl.col(ROW_COLUMN).filter(candidate).implode().alias(f"r{j}"),
            verdict.filter(candidate).implode().alias(f"h{j}")]


def _rounding(raw: RawAmount) -> tuple[int, int, int]:
    """How a raw amount is rounded: multiplied by `up`, divided by `div`, by mode (its index)."""
    return 10 ** max(0, -raw.shift), 10 ** max(0, raw.shift), ROUNDING_MODES.index(raw.mode)


def _program_pairs(pairs: pl.DataFrame, which: list[int], raws: Sequence[RawAmount], columns: Columns,
                   positions: range, with_atom: bool) -> pl.DataFrame:
    """The pairs of the batch's clauses `which` (their `_candidates` columns r{j} and h{j}),
    with their amounts computed and rounded by their programs in one kernel call: clause
    (position), row, holds, amount_fen[, atom] (null: these clauses have no near misses)."""
    lists = pairs.select([f"r{j}" for j in which]).unpivot().get_column("value")
    n = lists.list.len().to_numpy()
    rows = lists.explode(empty_as_null=False).to_numpy()
    holds = pairs.select([f"h{j}" for j in which]).unpivot().get_column("value").explode(empty_as_null=False)
    programs = [raws[j].program for j in which]
    roundings = [(*_rounding(raws[j]), raws[j].factor) for j in which]
    amounts, known = vectorised.run_amounts(programs, roundings, columns, rows, n)  # type: ignore[arg-type]
    out = pl.DataFrame({
        "clause": pl.Series(np.repeat(np.array(which, dtype=np.uint32) + positions.start, n), dtype=pl.UInt32),
        "row": pl.Series(rows, dtype=pl.UInt32),
        "holds": holds.is_not_null(),     # candidates are true or unknown
        "amount_fen": amounts, "known": known,
    }).with_columns(amount_fen=pl.when("known").then("amount_fen")).drop("known")
    return out.with_columns(atom=pl.lit(None, dtype=pl.Int16)) if with_atom else out


def _int_dtype(values: list[int]) -> pl.DataType:
    """Int64 for integers that fit it, else Int128 (a divisor of 10^19 or more)."""
    return pl.Int64() if max(map(abs, values)) < 2**63 else pl.Int128()


def _full(expr: pl.Expr, height: int) -> pl.Expr:
    """Broadcast a condition to the frame's height (a constant condition is one value)."""
    return pl.repeat(expr, pl.lit(height, dtype=pl.UInt32)) if not expr.meta.root_names() else expr


def empty_results(keys: pl.Enum, diagnose: bool) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"row": pl.UInt32(), "clause": keys, "status": STATUS,
                                      "amount_fen": pl.Int64()}
    if diagnose:
        schema["missing"] = pl.List(pl.String())
    return pl.DataFrame(schema=schema)


def _amount_inputs(compiler: Compiler) -> list[str]:
    """Columns whose absence makes the amount unknown: every column the amount and cap read,
    the region column included when a regional parameter reads it (an enterprise whose region
    is unknown gets an unknown value, not the default: functions/values.py, _param)."""
    return list(compiler.requirements.columns())


def compile_policies(policies: Sequence[Policy], schema: Schema, as_of: date) -> CompiledPolicies:
    """Type-check and compile every clause of the policies in force on `as_of`.

    Raises PolicyError with every problem of every policy.
    """
    compiled: list[CompiledClause] = []
    requirements = frame.Requirements()
    problems: list[Problem] = []
    caps: dict[str, tuple[pl.Expr, pl.Expr]] = {}     # cap id (its group, else the policy id) → cap
    cap_written: dict[str, tuple[Policy, ast.Node, ast.Node]] = {}
    skipped = []
    order = 0
    for policy in policies:
        if not policy.in_force(as_of):
            skipped.append(policy)
            continue
        typer = TypeChecker(Env(schema, {k: p.type_base for k, p in policy.params.items()}))
        for i, clause in enumerate(policy.clauses):
            comp = Compiler(schema, policy.params, as_of, typer=typer)
            stage = "when"
            try:
                comp.check(clause.when, "bool")
                atom_exprs = []
                for a in atoms(clause.when):  # each atom once; the condition reuses them
                    ac = Compiler(schema, policy.params, as_of, typer=typer)
                    atom = ac.predicate(a)
                    atom_exprs.append((a, atom, ac.requirements.columns()))
                    comp.known[id(a)] = (atom, ac.requirements)
                when = comp.predicate(clause.when)
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
                                _amount_inputs(mc), comp.requirements, schema, as_of, typer)
            cc.raw_amount(assumed_bounds(schema, cc.requirements))  # compile the batch form now
            compiled.append(cc)
            requirements.update(comp.requirements)
            order += 1
        if policy.enterprise_cap is not None:
            cap_id = policy.cap_id
            amount_ast, when_ast = (schema.with_ids(x) for x in policy.enterprise_cap)
            first = cap_written.setdefault(cap_id, (policy, amount_ast, when_ast))
            if first[1:] != (amount_ast, when_ast):
                problems.append(Problem(
                    f"总量控制组“{cap_id}”的上限与政策 {first[0].id} 写法不一致", file=policy.source,
                    line=policy.line("enterprise_cap"), field="enterprise_cap",
                    fix=f"同一 group 的各政策写相同的 amount 与 when（见 {first[0].source}）"))
                continue
            comp = Compiler(schema, policy.params, as_of)
            try:
                cap_amount = finish_amount(comp, comp.amount(policy.enterprise_cap[0]), None, "fen", "half_up")
                caps[cap_id] = (cap_amount, comp.predicate(policy.enterprise_cap[1]))
                requirements.update(comp.requirements)
            except ExpressionError as e:
                problems.append(Problem(e.message, file=policy.source, line=policy.line("enterprise_cap"),
                                        field="enterprise_cap", fix=e.fix))
    if problems:
        raise PolicyError(problems)
    out = CompiledPolicies(schema, as_of, list(policies), compiled, requirements, caps, skipped)
    out.shared  # noqa: B018 -- share the atoms now: planning belongs to compiling, not to evaluating
    return out
