"""The amount kernel: runs the amount programs of vectorised.py for all of a batch's clauses
in one compiled call that does not hold the GIL (decision 0026).

A program is a list of instructions over registers; a register holds, for a chunk of a
clause's candidate rows, an Int64 value and whether it is known (Booleans are 0/1). Each
instruction runs over the whole chunk, so the interpreter's cost is paid once per
instruction per CHUNK rows, and the registers stay in the CPU's cache. After the program,
the clause's amount is rounded to its unit (round_fen's arithmetic) and stored.

Instructions are rows of five Int64: (op, dst, a, b, c). `a`, `b`, `c` are registers,
constants or a field's number, by op (the table below). Every value is Int64 and wraps on
overflow, as NumPy's did; vectorised.fits proves the rounding cannot overflow, and an
overflowing amount before rounding was the same in Polars (checked arithmetic is the
compiler's business: it compiles such amounts to Int128, which programs do not run).

Compiled by Numba when this module is imported, for the one signature below, and cached on
disk beside this file (or in ~/.cache/numba, or NUMBA_CACHE_DIR: docs/settings.md): the first
import after an installation compiles (about 3 s on the benchmark machine), later imports
load the cache (Numba's import and the load: about 0.3 s, like a library's import).
"""

from __future__ import annotations

import numba
import numpy as np

from zhida.rules.lang.scaled import ROUNDING_MODES

# op codes                         dst  a          b            c
LOAD = 0      # field value         r   field      1: Boolean
CONST = 1     # constant            r   value      1: known
ADD, SUB, MUL = 2, 3, 4             # r  reg        reg
FLOORDIV, MOD = 5, 6                # r  reg        constant > 0
LT, LE, GT, GE, EQ, NE = 7, 8, 9, 10, 11, 12   # r  reg  reg
AND, OR = 13, 14    # Kleene          r   reg        reg
NOT = 15            #                 r   reg
CHOOSE = 16         # when/then/else  r   predicate  then         otherwise
AT_LEAST, AT_MOST = 17, 18   # clip   r   reg        constant
NEG, ABS = 19, 20   #                 r   reg
MIN, MAX = 21, 22   # skipping nulls  r   reg        reg
FILL = 23           # fill_null       r   reg        constant
IS_NULL, IS_NOT_NULL = 24, 25  #      r   reg

CHUNK = 256
NULL = -(2**63)     # the value that stands for null in a column with `sentinel` set

# The columns of one clause record (`clauses` below), and rounding modes by their index in
# ROUNDING_MODES (the kernel branches on the index).
C_CODE, C_END, C_RESULT, C_FIELDS, C_START, C_COUNT, C_UP, C_DIV, C_MODE, C_FACTOR = range(10)
HALF_UP, HALF_EVEN, DOWN, UP, FLOOR, CEIL = range(6)
assert ROUNDING_MODES == ("half_up", "half_even", "down", "up", "floor", "ceil")


def run(code: np.ndarray, clauses: np.ndarray, fields: np.ndarray, index: np.ndarray, data: np.ndarray,
        sentinel: np.ndarray, validity: np.ndarray, validity_row: np.ndarray, registers: int,
        amounts: np.ndarray, known: np.ndarray) -> None:
    """Run every clause of `clauses` (rows of C_* columns: its instructions code[C_CODE:C_END],
    its result register, where its fields' column numbers start in `fields`, its pairs
    index[C_START : C_START + C_COUNT], its rounding), writing each pair's rounded amount and
    whether it is known into `amounts` and `known` at the pair's position. Registers are a
    clause's own: instruction k of a clause writes register k.

    `data`: the columns programs read, one per row (Int64; Booleans 0/1); `sentinel[k]`: column
    k's nulls are NULL; `validity_row[k]` ≥ 0: column k's validity is validity[validity_row[k]]
    (a column that holds NULL as data). `registers`: the longest program's length. The
    arrays must have the types of SIGNATURE (writeable and C-contiguous)."""
    _COMPILED(code, clauses, fields, index, data, sentinel, validity, validity_row, registers, amounts, known)


def _kernel(code, clauses, fields, index, data, sentinel, validity, validity_row, registers,  # type: ignore[no-untyped-def]
            amounts, known):  # run compiled (_COMPILED); its semantics are held to Polars by the tests
    vals = np.empty((registers, CHUNK), dtype=np.int64)
    ok = np.empty((registers, CHUNK), dtype=np.bool_)
    for c in range(clauses.shape[0]):
        start = clauses[c, C_START]
        count = clauses[c, C_COUNT]
        res = clauses[c, C_RESULT]
        up = clauses[c, C_UP]
        div = clauses[c, C_DIV]
        mode = clauses[c, C_MODE]
        factor = clauses[c, C_FACTOR]
        for s in range(0, count, CHUNK):
            m = min(CHUNK, count - s)
            base = start + s
            for k in range(clauses[c, C_CODE], clauses[c, C_END]):
                op = code[k, 0]
                d = code[k, 1]
                a = code[k, 2]
                b = code[k, 3]
                x = code[k, 4]
                if op == LOAD:
                    col = fields[clauses[c, C_FIELDS] + a]
                    vr = validity_row[col]
                    for i in range(m):
                        vals[d, i] = data[col, index[base + i]]
                    if sentinel[col]:
                        for i in range(m):
                            ok[d, i] = vals[d, i] != NULL
                    elif vr >= 0:
                        for i in range(m):
                            ok[d, i] = validity[vr, index[base + i]]
                    else:
                        ok[d, :m] = True
                    if b == 1:   # a Boolean: 0/1 (its nulls' NULL is 0 as well)
                        for i in range(m):
                            vals[d, i] = vals[d, i] == 1
                elif op == CONST:
                    for i in range(m):
                        vals[d, i] = a
                        ok[d, i] = b == 1
                elif op in (FLOORDIV, MOD):   # by a positive constant
                    for i in range(m):
                        vals[d, i] = vals[a, i] // b if op == FLOORDIV else vals[a, i] % b
                        ok[d, i] = ok[a, i]
                elif op <= NE:   # the other binary operations: known where both sides are
                    for i in range(m):
                        ok[d, i] = ok[a, i] and ok[b, i]
                    if op == ADD:
                        for i in range(m):
                            vals[d, i] = vals[a, i] + vals[b, i]
                    elif op == SUB:
                        for i in range(m):
                            vals[d, i] = vals[a, i] - vals[b, i]
                    elif op == MUL:
                        for i in range(m):
                            vals[d, i] = vals[a, i] * vals[b, i]
                    elif op == LT:
                        for i in range(m):
                            vals[d, i] = vals[a, i] < vals[b, i]
                    elif op == LE:
                        for i in range(m):
                            vals[d, i] = vals[a, i] <= vals[b, i]
                    elif op == GT:
                        for i in range(m):
                            vals[d, i] = vals[a, i] > vals[b, i]
                    elif op == GE:
                        for i in range(m):
                            vals[d, i] = vals[a, i] >= vals[b, i]
                    elif op == EQ:
                        for i in range(m):
                            vals[d, i] = vals[a, i] == vals[b, i]
                    else:
                        for i in range(m):
                            vals[d, i] = vals[a, i] != vals[b, i]
                elif op == AND:  # false wins over unknown
                    for i in range(m):
                        pa = ok[a, i] and vals[a, i] == 1
                        pb = ok[b, i] and vals[b, i] == 1
                        false_a = ok[a, i] and vals[a, i] == 0
                        false_b = ok[b, i] and vals[b, i] == 0
                        vals[d, i] = 1 if pa and pb else 0
                        ok[d, i] = (ok[a, i] and ok[b, i]) or false_a or false_b
                elif op == OR:   # true wins over unknown
                    for i in range(m):
                        t = (ok[a, i] and vals[a, i] == 1) or (ok[b, i] and vals[b, i] == 1)
                        vals[d, i] = 1 if t else 0
                        ok[d, i] = (ok[a, i] and ok[b, i]) or t
                elif op == NOT:
                    for i in range(m):
                        vals[d, i] = 1 - vals[a, i]
                        ok[d, i] = ok[a, i]
                elif op == CHOOSE:  # an unknown predicate takes the otherwise branch
                    for i in range(m):
                        src = b if ok[a, i] and vals[a, i] == 1 else x
                        vals[d, i] = vals[src, i]
                        ok[d, i] = ok[src, i]
                elif op == AT_LEAST:
                    for i in range(m):
                        vals[d, i] = max(vals[a, i], b)
                        ok[d, i] = ok[a, i]
                elif op == AT_MOST:
                    for i in range(m):
                        vals[d, i] = min(vals[a, i], b)
                        ok[d, i] = ok[a, i]
                elif op == NEG:
                    for i in range(m):
                        vals[d, i] = -vals[a, i]
                        ok[d, i] = ok[a, i]
                elif op == ABS:
                    for i in range(m):
                        vals[d, i] = abs(vals[a, i])
                        ok[d, i] = ok[a, i]
                elif op in (MIN, MAX):  # over the known values; unknown when both are
                    for i in range(m):
                        p = vals[a, i]
                        q = vals[b, i]
                        if ok[a, i] and ok[b, i]:
                            r = (p if p < q else q) if op == MIN else (p if p > q else q)
                        else:
                            r = q if ok[b, i] else p
                        vals[d, i] = r
                        ok[d, i] = ok[a, i] or ok[b, i]
                elif op == FILL:
                    for i in range(m):
                        vals[d, i] = vals[a, i] if ok[a, i] else b
                        ok[d, i] = True
                else:  # IS_NULL, IS_NOT_NULL
                    for i in range(m):
                        vals[d, i] = 1 if ok[a, i] != (op == IS_NULL) else 0
                        ok[d, i] = True
            for i in range(m):   # round to the clause's unit: vectorised.round_fen
                n = vals[res, i] * up
                if div == 1:
                    out = n * factor
                else:
                    q = n // div
                    r = n - q * div
                    twice = 2 * r
                    if mode == HALF_UP:
                        bump = twice > div or (twice == div and n >= 0)
                    elif mode == HALF_EVEN:
                        bump = twice > div or (twice == div and q % 2 != 0)
                    elif mode == DOWN:
                        bump = r != 0 and n < 0
                    elif mode == UP:
                        bump = r != 0 and n >= 0
                    elif mode == CEIL:
                        bump = r != 0
                    else:
                        bump = False
                    out = (q + (1 if bump else 0)) * factor
                amounts[base + i] = out
                known[base + i] = ok[res, i]


SIGNATURE = ("void(int64[:, ::1], int64[:, ::1], int64[::1], uint32[::1], int64[:, ::1], boolean[::1], "
             "boolean[:, ::1], int64[::1], int64, int64[::1], boolean[::1])")
_COMPILED = numba.njit(SIGNATURE, nogil=True, cache=True, error_model="numpy", boundscheck=False)(_kernel)
