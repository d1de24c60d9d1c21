"""The functions of the rules language, one registry entry each (base.py says what an entry
holds). To add a function: write its entry in the module of its family (or a new module),
list it here, add it to the property tests' generator and to docs/rules.md; the meta-tests in
tests/unit/rules/test_functions.py fail until all of that is done."""

from __future__ import annotations

from zhida.rules.lang.functions import aggregates, arith, dates, lists, received, values
from zhida.rules.lang.functions.base import Function

FUNCTIONS: dict[str, Function] = {
    f.name: f for family in (aggregates, arith, lists, dates, values, received) for f in family.ENTRIES
}

# written out by the parser as arithmetic on monthly values (parse.py), so it has no entry of
# its own; listed for help texts and for the names a field label must not take
MACROS: dict[str, str] = {
    "quarterly_avg": "全年季度平均值：quarterly_avg(从业人数[上年度])（(季初值 + 季末值) ÷ 2 的四季平均）",
}

__all__ = ["FUNCTIONS", "MACROS", "Function"]
