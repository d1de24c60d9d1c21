"""The AST of the expression language: the contract every backend compiles from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction


@dataclass(frozen=True)
class Span:
    """1-based line and column of a node inside its expression text."""

    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Node:
    span: Span = field(default=Span(), compare=False, kw_only=True)
    text: str = field(default="", compare=False, kw_only=True)


# --- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A period written in an expression. `kind` is "year" or "month".

    Absolute periods carry `year` (and `month`); relative ones carry `offset` from the
    evaluation date's year or month. A relative month with `month` set is that month of the
    year `offset` years from the evaluation date's (March of last year: offset -1, month 3;
    written by quarterly_avg). A range carries `start` and `end` (inclusive).
    """

    kind: str
    relative: bool
    offset: int = 0
    year: int = 0
    month: int = 0


@dataclass(frozen=True)
class PeriodRange:
    kind: str
    start: Period
    end: Period


# --- expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Num(Node):
    value: Fraction


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class DateLit(Node):
    value: date


@dataclass(frozen=True)
class AsOf(Node):
    pass


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class FieldRef(Node):
    name: str
    period: Period | PeriodRange | None = None


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # >= <= > < == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    left: Node
    items: ListLit
    negated: bool = False


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and / or
    items: tuple[Node, ...]


@dataclass(frozen=True)
class If(Node):
    cond: Node
    then: Node
    else_: Node


@dataclass(frozen=True)
class Duration(Node):
    """A length of time, written only as a named argument: `within = 3 years`."""

    amount: int
    unit: str  # year | month


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...] = ()

    def kwarg(self, name: str) -> Node | None:
        return next((v for k, v in self.kwargs if k == name), None)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node."""
    if isinstance(node, (Neg, Not)):
        return (node.operand,)
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.left, node.items)
    if isinstance(node, ListLit):
        return node.items
    if isinstance(node, BoolOp):
        return node.items
    if isinstance(node, If):
        return (node.cond, node.then, node.else_)
    if isinstance(node, Call):
        return node.args + tuple(v for _, v in node.kwargs)
    return ()


def walk(node: Node) -> list[Node]:
    """The node and all nodes below it, parents first."""
    out = [node]
    for child in children(node):
        out.extend(walk(child))
    return out
