"""A small, safe expression language for show-if conditions and form checks (parsed, never ``eval``).

Grammar (lowest precedence first)::

    expression := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
                      | ["not"] "in" "[" literal ("," literal)* "]"
                      | "is" ["not"] "blank"
                      | "contains" literal ]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := number | 'text' | "text" | true | false | today | name | "[" name "]" | "(" expression ")"

Names are the fields of the form (and the core enrolment values, e.g. ``consent_date``);
``[name]`` is accepted too, as REDCap writes fields. Text in quotes compared with a date field is
read as a date (``'2015-01-01'``); ``today`` is the date of entry. ``x = ''`` means ``x is blank``,
as in REDCap. ``contains`` tests a multiple-choice field for one code.

Blank values follow three-valued logic: a comparison, sum or list test with a blank side is
*unknown*; ``not`` keeps unknown; ``a and b`` is false if either is false, ``a or b`` true if either
is true, otherwise unknown. A show-if shows its field only when the condition is *true*; a form
check fails only when its condition is *false* (a check cannot judge values that are not there).

``Expression.to_redcap()`` writes the REDCap branching-logic equivalent (``[field] = '1'``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Mapping

__all__ = ["Expression", "ExpressionError", "parse_expression"]

_KEYWORDS = {"and", "or", "not", "in", "is", "blank", "contains", "true", "false", "today"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|==|=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
""", re.VERBOSE)
_NAME_SHAPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_LENGTH = 2000


class ExpressionError(ValueError):
    """An expression that does not parse, with the position of the problem."""

    def __init__(self, message: str, text: str, position: int):
        self.text, self.position = text, position
        super().__init__(f"{message} at position {position + 1} of {text!r}")


@dataclass(frozen=True)
class _Tok:
    kind: str  # number / string / name / keyword / op / end
    value: Any
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup
        raw = m.group()
        if kind == "number":
            out.append(_Tok("number", float(raw) if any(c in raw for c in ".eE") else int(raw), pos))
        elif kind == "string":
            out.append(_Tok("string", re.sub(r"\\(.)", r"\1", raw[1:-1]), pos))
        elif kind == "name":
            low = raw.lower()
            out.append(_Tok("keyword", low, pos) if low in _KEYWORDS else _Tok("name", raw, pos))
        elif kind == "op":
            out.append(_Tok("op", "=" if raw == "==" else ("!=" if raw == "<>" else raw), pos))
        pos = m.end()
    out.append(_Tok("end", None, len(text)))
    return out


# --- the syntax tree ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: Any  # int, float, str, bool


@dataclass(frozen=True)
class Today:
    pass


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str  # and or = != < <= > >= + - * /
    left: Any
    right: Any


@dataclass(frozen=True)
class InList:
    operand: Any
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class IsBlank:
    operand: Any
    negated: bool


@dataclass(frozen=True)
class Contains:
    operand: Any
    value: Any


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, value: Any = None) -> bool:
        if self.tok.kind == kind and (value is None or self.tok.value == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: Any, what: str) -> None:
        if not self.accept(kind, value):
            self.fail(f"expected {what}")

    def fail(self, message: str):
        found = "the end" if self.tok.kind == "end" else repr(self.text[self.tok.pos:self.tok.pos + 12])
        raise ExpressionError(f"{message}, found {found}", self.text, self.tok.pos)

    def parse(self):
        node = self.or_expr()
        if self.tok.kind != "end":
            self.fail("expected 'and', 'or' or the end of the expression")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.accept("keyword", "or"):
            node = Binary("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.accept("keyword", "and"):
            node = Binary("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.accept("keyword", "not"):
            return Unary("not", self.not_expr())
        return self.comparison()

    def comparison(self):
        left = self.sum()
        tok = self.tok
        if tok.kind == "op" and tok.value in ("=", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.sum()
            # REDCap writes "is blank" as [x] = '' (and "is not blank" as [x] <> '').
            if tok.value in ("=", "!=") and isinstance(right, Literal) and right.value == "":
                return IsBlank(left, tok.value == "!=")
            return Binary(tok.value, left, right)
        if self.accept("keyword", "in"):
            return InList(left, self.literal_list(), False)
        if tok.kind == "keyword" and tok.value == "not" and self.toks[self.i + 1].value == "in":
            self.take()
            self.take()
            return InList(left, self.literal_list(), True)
        if self.accept("keyword", "is"):
            negated = self.accept("keyword", "not")
            self.expect("keyword", "blank", "'blank' after 'is'")
            return IsBlank(left, negated)
        if self.accept("keyword", "contains"):
            return Contains(left, self.literal())
        return left

    def literal_list(self) -> tuple[Any, ...]:
        self.expect("op", "[", "'[' to open the list")
        values = [self.literal()]
        while self.accept("op", ","):
            values.append(self.literal())
        self.expect("op", "]", "',' or ']' in the list")
        return tuple(values)

    def literal(self) -> Any:
        tok = self.tok
        negative = False
        if tok.kind == "op" and tok.value == "-" and self.toks[self.i + 1].kind == "number":
            self.take()
            tok, negative = self.tok, True
        if tok.kind in ("number", "string"):
            self.take()
            return -tok.value if negative else tok.value
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            self.take()
            return tok.value == "true"
        self.fail("expected a number, a quoted text, true or false")

    def sum(self):
        node = self.product()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            node = Binary(self.take().value, node, self.product())
        return node

    def product(self):
        node = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/"):
            node = Binary(self.take().value, node, self.unary())
        return node

    def unary(self):
        if self.accept("op", "-"):
            return Unary("-", self.unary())
        return self.atom()

    def atom(self):
        tok = self.tok
        if tok.kind in ("number", "string"):
            self.take()
            return Literal(tok.value)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            self.take()
            return Literal(tok.value == "true")
        if tok.kind == "keyword" and tok.value == "today":
            self.take()
            return Today()
        if tok.kind == "name":
            self.take()
            return Name(tok.value)
        if self.accept("op", "["):
            name = self.tok
            if name.kind not in ("name", "keyword") or not _NAME_SHAPE.fullmatch(str(name.value)):
                self.fail("expected a field name inside [ ]")
            self.take()
            self.expect("op", "]", "']' after the field name")
            return Name(str(name.value))
        if self.accept("op", "("):
            node = self.or_expr()
            self.expect("op", ")", "')'")
            return node
        self.fail("expected a field name, a number, a quoted text or '('")


# --- evaluation ------------------------------------------------------------------------------------
_UNKNOWN = None


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


_TRUE_TEXT = {"y", "yes", "true", "1"}
_FALSE_TEXT = {"n", "no", "false", "0"}


def _align(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Bring two values to one comparable type, or None when they cannot be compared."""
    if isinstance(a, bool) or isinstance(b, bool):
        other = b if isinstance(a, bool) else a
        flag = a if isinstance(a, bool) else b
        if isinstance(other, bool):
            return a, b
        text = str(other).strip().lower()
        if text in _TRUE_TEXT:
            other_bool = True
        elif text in _FALSE_TEXT:
            other_bool = False
        else:
            return None
        return (flag, other_bool) if isinstance(a, bool) else (other_bool, flag)
    if isinstance(a, date) or isinstance(b, date):
        da, db = _as_date(a), _as_date(b)
        return None if da is None or db is None else (da, db)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        na, nb = _as_number(a), _as_number(b)
        return None if na is None or nb is None else (na, nb)
    return str(a), str(b)


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None or isinstance(a, tuple) or isinstance(b, tuple):
        return _UNKNOWN
    pair = _align(a, b)
    if pair is None:
        return False if op == "=" else (True if op == "!=" else _UNKNOWN)
    x, y = pair
    if op == "=":
        return x == y
    if op == "!=":
        return x != y
    if isinstance(x, bool) or isinstance(x, str) and op in ("<", "<=", ">", ">="):
        return _UNKNOWN  # no order between codes
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, tuple) and not value)


class _Evaluator:
    def __init__(self, values: Mapping[str, Any], today: date | None):
        self.values = values
        self.today = today

    def eval(self, node) -> Any:
        method: Callable[[Any], Any] = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _literal(self, node: Literal):
        return node.value

    def _today(self, node: Today):
        return self.today

    def _name(self, node: Name):
        value = self.values.get(node.name)
        if isinstance(value, (list, set, frozenset)):
            return tuple(value)
        return None if _blank(value) else value

    def _unary(self, node: Unary):
        value = self.eval(node.operand)
        if node.op == "not":
            return None if value is None else (not _truth(value))
        number = _as_number(value) if not isinstance(value, bool) else None
        return None if number is None else -number

    def _binary(self, node: Binary):
        if node.op == "and":
            a, b = _truth3(self.eval(node.left)), _truth3(self.eval(node.right))
            if a is False or b is False:
                return False
            return None if a is None or b is None else True
        if node.op == "or":
            a, b = _truth3(self.eval(node.left)), _truth3(self.eval(node.right))
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        a, b = self.eval(node.left), self.eval(node.right)
        if node.op in ("+", "-", "*", "/"):
            return _arithmetic(node.op, a, b)
        return _compare(node.op, a, b)

    def _inlist(self, node: InList):
        value = self.eval(node.operand)
        if value is None or isinstance(value, tuple):
            return None
        found = any(_compare("=", value, v) for v in node.values)
        return (not found) if node.negated else found

    def _isblank(self, node: IsBlank):
        value = self.eval(node.operand)
        blank = _blank(value)
        return (not blank) if node.negated else blank

    def _contains(self, node: Contains):
        value = self.eval(node.operand)
        if value is None:
            return None
        codes = value if isinstance(value, tuple) else (value,)
        return any(str(c) == str(node.value) for c in codes)


def _truth(value: Any) -> bool:
    return bool(value)


def _truth3(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if op in ("+", "-") and isinstance(a, date) and not isinstance(b, date):
        from datetime import timedelta

        n = _as_number(b)
        return None if n is None else a + timedelta(days=(n if op == "+" else -n))
    if op == "-" and isinstance(a, date) and isinstance(b, date):
        return (a - b).days  # days between two dates
    x, y = _as_number(a), _as_number(b)
    if x is None or y is None:
        return None
    if op == "/":
        return None if y == 0 else x / y
    return {"+": x + y, "-": x - y, "*": x * y}[op]


# --- the public object ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expression:
    """A parsed expression: ``evaluate(values)`` gives True, False or None (unknown)."""

    text: str
    tree: Any

    def names(self) -> set[str]:
        """Every field name the expression reads."""
        found: set[str] = set()
        _walk(self.tree, lambda n: found.add(n.name) if isinstance(n, Name) else None)
        return found

    def comparisons(self) -> list[tuple[str, Any]]:
        """(field name, literal) pairs the expression compares directly (to check codes against a codelist)."""
        pairs: list[tuple[str, Any]] = []

        def visit(n):
            if isinstance(n, Binary) and n.op in ("=", "!="):
                if isinstance(n.left, Name) and isinstance(n.right, Literal):
                    pairs.append((n.left.name, n.right.value))
                elif isinstance(n.right, Name) and isinstance(n.left, Literal):
                    pairs.append((n.right.name, n.left.value))
            elif isinstance(n, InList) and isinstance(n.operand, Name):
                pairs.extend((n.operand.name, v) for v in n.values)
            elif isinstance(n, Contains) and isinstance(n.operand, Name):
                pairs.append((n.operand.name, n.value))

        _walk(self.tree, visit)
        return pairs

    def evaluate(self, values: Mapping[str, Any], today: date | None = None) -> bool | None:
        """True, False, or None when blank values leave it unknown (see the module docstring)."""
        result = _Evaluator(values, today).eval(self.tree)
        return None if result is None else bool(result)

    def to_redcap(self) -> str:
        """The REDCap branching-logic text of this expression (``ValueError`` for ``today``)."""
        return _redcap(self.tree, negate=False)

    def __str__(self) -> str:
        return self.text


def _walk(node, visit) -> None:
    visit(node)
    for child in _children(node):
        _walk(child, visit)


def _children(node) -> tuple:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, (InList, IsBlank, Contains)):
        return (node.operand,)
    return ()


def parse_expression(text: str) -> Expression:
    """Parse ``text``; ``ExpressionError`` (a ``ValueError``) says what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression is needed", str(text), 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"an expression may hold at most {MAX_LENGTH} characters", text[:40] + "...", 0)
    return Expression(text, _Parser(text).parse())


# --- REDCap ---------------------------------------------------------------------------------------
_NEGATED = {"=": "<>", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _quote(value: Any) -> str:
    if isinstance(value, bool):
        return "'1'" if value else "'0'"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "\\'") + "'"


def _redcap(node, negate: bool) -> str:
    if isinstance(node, Binary) and node.op in ("and", "or"):
        op = node.op if not negate else ("or" if node.op == "and" else "and")
        return f"({_redcap(node.left, negate)} {op} {_redcap(node.right, negate)})"
    if isinstance(node, Unary) and node.op == "not":
        return _redcap(node.operand, not negate)
    if isinstance(node, Binary) and node.op in _NEGATED:
        op = _NEGATED[node.op] if negate else node.op
        op = "<>" if op == "!=" else op
        return f"{_value(node.left)} {op} {_value(node.right)}"
    if isinstance(node, InList):
        negated = node.negated != negate
        parts = [f"{_value(node.operand)} {'<>' if negated else '='} {_quote(v)}" for v in node.values]
        return "(" + (" and " if negated else " or ").join(parts) + ")"
    if isinstance(node, IsBlank):
        negated = node.negated != negate
        return f"{_value(node.operand)} {'<>' if negated else '='} ''"
    if isinstance(node, Contains):
        if not isinstance(node.operand, Name):
            raise ValueError("REDCap tests a checkbox field by name: contains needs a field on its left")
        return f"[{node.operand.name}({node.value})] {'<>' if negate else '='} '1'"
    text = _value(node)
    return f"not({text})" if negate else text


def _value(node) -> str:
    if isinstance(node, Name):
        return f"[{node.name}]"
    if isinstance(node, Literal):
        return _quote(node.value)
    if isinstance(node, Today):
        raise ValueError("'today' has no plain REDCap branching-logic equivalent")
    if isinstance(node, Unary) and node.op == "-":
        return f"-{_value(node.operand)}"
    if isinstance(node, Binary) and node.op in ("+", "-", "*", "/"):
        return f"({_value(node.left)} {node.op} {_value(node.right)})"
    return _redcap(node, negate=False)
