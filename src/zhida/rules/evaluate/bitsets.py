"""Code-membership atoms as bitsets, for the batch engine (engine.py; decision 0025).

An atom such as `industry_division in ["C13", "C14", "C15"]` is, in Polars, an `is_in` of a
Categorical column: about 0.2 ms of CPU per atom over 230,000 rows, whatever the list, and
the benchmark pack has 2,376 of them, more than half of the CPU its atoms take. A code
column has few distinct codes, so the same atom can be built from one bitmap per code ("the
rows whose code is C13"), each computed once per evaluation: the atom is the bitwise `or` of
its codes' bitmaps, packed 64 rows to a word, handed to Polars as an Arrow array without a
copy. When a list names more than half of the codes present, the atom is the complement of
the other codes' `or`: for a row with a code, "in the list" and "in no code outside it" are
the same. A row without a code stays null, as `is_in` leaves it (Kleene: unknown).

Only an atom whose compiled expression is exactly `pl.col(c).is_in(<strings>)` or its
negation is recognised (`membership`), and only on a Categorical column of the evaluated
frame (`CodeBits.usable`); every other atom keeps its Polars expression. The two are held
to each other in tests/unit/rules/test_bitsets.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from zhida.rules.lang import ast
from zhida.rules.lang.scaled import members


@dataclass(frozen=True)
class Membership:
    """The atom `column in values` (`not in` when negated), over a code column."""

    column: str
    values: tuple[str, ...]
    negated: bool


def membership(node: ast.Node, expr: pl.Expr) -> Membership | None:
    """What a compiled atom tests, when its expression is exactly a membership test of one
    column in a list of strings (compile.Compiler._in), else None."""
    if not isinstance(node, ast.In) or not all(isinstance(i, ast.Str) for i in node.items.items):
        return None
    names = expr.meta.root_names()
    if len(names) != 1:
        return None
    values = tuple(i.value for i in node.items.items if isinstance(i, ast.Str))
    test = pl.col(names[0]).is_in(members(values, pl.String))
    if not expr.meta.eq(~test if node.negated else test):
        return None
    return Membership(names[0], values, node.negated)


class CodeBits:
    """The membership atoms of one frame: each code's bitmap computed once, on first use."""

    def __init__(self, df: pl.DataFrame) -> None:
        self.df = df
        self._columns: dict[str, _CodeColumn] = {}

    def usable(self, m: Membership) -> bool:
        """Whether the frame holds the atom's column as codes (Categorical)."""
        return m.column in self.df.columns and isinstance(self.df.schema[m.column], pl.Categorical)

    def frame(self, atoms: Mapping[str, Membership]) -> pl.DataFrame:
        """The atoms (each `usable`) as Boolean columns named by the keys."""
        out = pl.from_arrow(pa.table({name: self.atom(m) for name, m in atoms.items()}))
        assert isinstance(out, pl.DataFrame)
        return out

    def atom(self, m: Membership) -> pa.BooleanArray:
        column = self._columns.get(m.column)
        if column is None:
            column = self._columns[m.column] = _CodeColumn(self.df.get_column(m.column))
        return column.atom(m.values, m.negated)


class _CodeColumn:
    """One code column: every row's code (its physical number; -1 for null), the codes
    present, the rows that have one (`known`, also the atoms' validity when some do not),
    and the bitmaps of the codes asked for so far."""

    def __init__(self, s: pl.Series) -> None:
        self.height = s.len()
        self.codes = s.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
        present = s.drop_nulls().unique()
        self.code_of: dict[str, int] = dict(zip(present.cast(pl.String).to_list(),
                                                 present.to_physical().cast(pl.Int64).to_list(), strict=True))
        self.known = pack(s.is_not_null().to_numpy(), self.height)   # the rows with a code
        self.validity = pa.py_buffer(self.known) if s.null_count() else None
        self._bits: dict[int, np.ndarray] = {}

    def atom(self, values: tuple[str, ...], negated: bool) -> pa.BooleanArray:
        inside = {self.code_of[v] for v in values if v in self.code_of}
        if 2 * len(inside) <= len(self.code_of):
            words, flip = self._any(inside), negated
        else:   # the complement is shorter: in the list ⇔ in none of the other codes
            words, flip = self._any(set(self.code_of.values()) - inside), not negated
        if flip:   # the rows with a code outside the list (a null row's value is not read)
            np.bitwise_xor(words, self.known, out=words)
        return pa.BooleanArray.from_buffers(pa.bool_(), self.height, [self.validity, pa.py_buffer(words)])

    def _any(self, codes: set[int]) -> np.ndarray:
        """The `or` of the codes' bitmaps (a new array)."""
        out = np.zeros(-(-self.height // 64), dtype=np.uint64)
        for code in codes:
            bits = self._bits.get(code)
            if bits is None:
                bits = self._bits[code] = pack(self.codes == code, self.height)
            np.bitwise_or(out, bits, out=out)
        return out


def pack(flags: np.ndarray, height: int) -> np.ndarray:
    """Booleans as an Arrow bitmap (row i is bit i % 8 of byte i // 8) in whole 64-bit words;
    the bits past the last row are zero."""
    packed = np.packbits(flags, bitorder="little")
    out = np.zeros(-(-height // 64) * 8, dtype=np.uint8)
    out[: len(packed)] = packed
    return out.view(np.uint64)

