"""The flip-graph community's text notation: one product a line.

``(a12+a13-2*a21)*(b32+b35)*(c21+c51)``: ``a_ij`` for A, ``b_jk`` for B and
``c_ki`` for C transposed, 1-based; ``a_1_10`` when an index exceeds 9; flat
variables ``x3``/``y_3``/``z3`` for an explicit target.  As Kauers–Moosbauer's
``.exp`` files and Moosbauer–Poole's lifted files actually write it, a line may
also have bare factors (``(-a21)*(-b11+b13)*c12``), a sign or scalar on the
whole product (``-(a25*(b11-b12)*c12)``, ``1/2*(…)*(…)*(…)``), factors side by
side without ``*`` (``(…)(…)(…)``) and a divided factor (``(a11+a12)/2``).
Coefficients are integers, fractions, decimals and, for Gaussian schemes,
multiples of ``i`` (``(1/2+1/2*i)*a11``).  A zero term is ``(0)*(0)*(0)``.

Each line is parsed into an exact value — a scalar, a linear form in one
matrix's entries, or a product of forms of different matrices — and must come
out as one product of A-, B- and C-forms (or zero).  Nothing is evaluated but
this arithmetic.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from fractions import Fraction
from typing import Iterable

import numpy as np

from .. import limits
from ..tensors import Scheme, Shape
from .common import ONE, ZERO, Gauss, exact_number, scheme_from_entries

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<var>[A-Za-z_]\w*)|(?P<op>[-+*/()]))")
_MATMUL_VAR = re.compile(r"^([abc])(?:_(\d+)_(\d+)|(\d)(\d))$")
_FLAT_VAR = re.compile(r"^([xyz])_?(\d+)$")
_FAMILY = {"a": 0, "b": 1, "c": 2, "x": 0, "y": 1, "z": 2}

Var = tuple[str, int, int]          # (letter, i, j); flat variables have j = 0


@dataclasses.dataclass(frozen=True)
class _Linear:
    """A linear form in the entries of one matrix: ``{variable: coefficient}``."""

    family: int
    coefs: dict


@dataclasses.dataclass(frozen=True)
class _Product:
    """``scalar · Π forms``, at most one form per matrix."""

    scalar: Gauss
    forms: dict                      # family -> _Linear


def _scale(x, c: Gauss):
    if c is ONE:
        return x
    if isinstance(x, Gauss):
        return x * c
    if isinstance(x, _Linear):
        return _Linear(x.family, {k: v * c for k, v in x.coefs.items()})
    return _Product(x.scalar * c, x.forms)


def _add(x, y):
    if isinstance(x, Gauss) and isinstance(y, Gauss):
        return x + y
    if isinstance(x, _Linear) and isinstance(y, _Linear) and x.family == y.family:
        coefs = dict(x.coefs)
        for k, v in y.coefs.items():
            coefs[k] = coefs.get(k, ZERO) + v
        return _Linear(x.family, {k: v for k, v in coefs.items() if v})
    if isinstance(x, Gauss) and not x:
        return y
    if isinstance(y, Gauss) and not y:
        return x
    raise ValueError("a sum must hold entries of one matrix only (is a '*' or ')' missing?)")


def _mul(x, y):
    if isinstance(x, Gauss):
        return _scale(y, x)
    if isinstance(y, Gauss):
        return _scale(x, y)
    px = x if isinstance(x, _Product) else _Product(ONE, {x.family: x})
    py = y if isinstance(y, _Product) else _Product(ONE, {y.family: y})
    if set(px.forms) & set(py.forms):
        raise ValueError("a product has two factors of the same matrix")
    return _Product(px.scalar * py.scalar, {**px.forms, **py.forms})


class _Parser:
    """Recursive descent over one line's tokens:
    ``sum := ['+'|'-'] prod (('+'|'-') prod)*``;
    ``prod := atom (['*'|'/'] atom)*`` (juxtaposed atoms multiply);
    ``atom := number | variable | 'i' | '(' sum ')' | ('+'|'-') atom``."""

    def __init__(self, text: str):
        limits.check_nesting(text, "(", ")")
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            mt = _TOKEN.match(text, pos)
            if not mt or mt.end() == pos:
                raise ValueError(f"cannot read {text[pos:pos + 20]!r}")
            kind = mt.lastgroup
            self.tokens.append((kind, mt.group(kind)))  # type: ignore[arg-type]
            pos = mt.end()
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ValueError("the line ends too early")
        self.pos += 1
        return tok

    def parse(self):
        value = self.sum()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return value

    def sum(self):
        value = None
        sign = ONE
        tok = self.peek()
        if tok and tok[1] in "+-":
            self.take()
            sign = -ONE if tok[1] == "-" else ONE
        while True:
            term = _scale(self.prod(), sign)
            value = term if value is None else _add(value, term)
            tok = self.peek()
            if tok is None or tok[1] not in "+-":
                return value
            self.take()
            sign = -ONE if tok[1] == "-" else ONE

    def prod(self):
        value = self.atom()
        while True:
            tok = self.peek()
            if tok is None or tok[1] in "+-)":
                return value
            if tok[1] == "*":
                self.take()
                value = _mul(value, self.atom())
            elif tok[1] == "/":
                self.take()
                divisor = self.atom()
                if not isinstance(divisor, Gauss):
                    raise ValueError("only numbers can divide")
                if not divisor:
                    raise ValueError("division by zero")
                value = _scale(value, ONE / divisor)
            else:                                    # juxtaposition: (…)(…)
                value = _mul(value, self.atom())

    def atom(self):
        kind, text = self.take()
        if kind == "num":
            return Gauss(exact_number(text))
        if kind == "var" and text in ("i", "I"):
            return Gauss(0, 1)
        if kind == "var":
            var = _variable(text)
            return _Linear(_FAMILY[var[0]], {var: ONE})
        if text == "(":
            value = self.sum()
            if self.take()[1] != ")":
                raise ValueError("missing ')'")
            return value
        if text in "+-":
            value = self.atom()
            return _scale(value, -ONE) if text == "-" else value
        raise ValueError(f"unexpected {text!r}")


@functools.lru_cache(maxsize=4096)
def _variable(text: str) -> Var:
    mv = _MATMUL_VAR.match(text)
    if mv:
        i = int(limits.check_digits(mv.group(2) or mv.group(4), "index"))
        j = int(limits.check_digits(mv.group(3) or mv.group(5), "index"))
        return (mv.group(1), limits.check_index(i, text), limits.check_index(j, text))
    mf = _FLAT_VAR.match(text)
    if mf:
        k = int(limits.check_digits(mf.group(2), "index"))
        if k < 1:
            raise ValueError(f"{text}: indices are 1-based")
        if k > limits.MAX_TENSOR_ENTRIES:
            raise ValueError(f"{text}: index exceeds the limit")
        return (mf.group(1), k, 0)
    raise ValueError(f"unknown variable {text!r} (expected a_ij, b_jk, c_ki)")


_PLAIN_LINE = re.compile(r"\(([^()]*)\)\*\(([^()]*)\)\*\(([^()]*)\)")
_PLAIN_TERM = re.compile(r"([+-]?)(?:(\d+(?:/\d+)?)\*)?([abc](?:\d\d|_\d+_\d+))")


def _plain_form(text: str, letter: str) -> dict[Var, Gauss] | None:
    """``-a11+2*a12-1/2*a21`` (rational coefficients, each variable of
    ``letter`` once, no spaces) → its form; ``None`` when the text is
    anything else."""
    form: dict[Var, Gauss] = {}
    pos = 0
    while pos < len(text):
        mt = _PLAIN_TERM.match(text, pos)
        if mt is None or (pos and not mt.group(1)) or mt.group(3)[0] != letter:
            return None
        var = _variable(mt.group(3))
        coef = exact_number(mt.group(2)) if mt.group(2) else 1
        if var in form or not coef:
            return None
        form[var] = Gauss(-coef if mt.group(1) == "-" else coef)
        pos = mt.end()
    return form or None


def _plain_line(text: str) -> list[dict[Var, Gauss]] | None:
    """The fast path of :func:`parse_line` for the form this project writes,
    ``(A-sum)*(B-sum)*(C-sum)`` with rational coefficients: the same forms the
    parser gives, or ``None`` to leave the line to the parser."""
    mt = _PLAIN_LINE.fullmatch(text)
    if mt is None:
        return None
    forms = [_plain_form(mt.group(k + 1), "abc"[k]) for k in range(3)]
    return None if any(f is None for f in forms) else forms  # type: ignore[return-value]


def parse_line(text: str) -> list[dict[Var, Gauss]] | None:
    """One product line → ``[A-form, B-form, C-form]`` (``{variable: coefficient}``),
    or ``None`` for a zero term."""
    plain = _plain_line(text)
    if plain is not None:
        return plain
    value = _Parser(text).parse()
    if isinstance(value, Gauss):
        if value:
            raise ValueError("a line must be a product of three factors, got a number")
        return None
    if isinstance(value, _Linear):
        if not value.coefs:
            return None
        raise ValueError("a line must be a product of three factors, got one sum")
    if not value.scalar or any(not f.coefs for f in value.forms.values()):
        return None
    if len(value.forms) != 3:
        got = "".join("abc"[f] for f in sorted(value.forms))
        raise ValueError(f"a line must be a product of A, B and C factors, got only {got!r}")
    forms = [dict(value.forms[f].coefs) for f in range(3)]
    forms[2] = {k: v * value.scalar for k, v in forms[2].items()}
    for pos, form in enumerate(forms):
        for letter, _, _ in form:
            if _FAMILY[letter] != pos:
                raise ValueError(f"factor {pos + 1} uses {letter!r}")
    return forms


def parse_products(lines: Iterable[str], ring: str = "Z", shape: Shape | None = None,
                   target: np.ndarray | None = None) -> Scheme:
    """Products in the text notation → a :class:`Scheme`.

    Blank lines and ``#`` comments are skipped.  ``shape`` is inferred from the
    largest indices when not given.  With an explicit ``target`` the factors are
    written with flat 1-based variables ``x_i``, ``y_j``, ``z_k``.  ``ring``
    ``"Z2"``/``"Z3"`` reduces the coefficients mod p.
    """
    parsed: list[list[dict[Var, Gauss]] | None] = []
    for lineno, line in enumerate(lines, 1):
        body = line.split("#", 1)[0].strip().rstrip(";,")
        if not body:
            continue
        if len(parsed) >= limits.MAX_RANK:
            raise ValueError(f"more than {limits.MAX_RANK:,} products (the rank limit)")
        try:
            parsed.append(parse_line(body))
        except ValueError as exc:
            raise ValueError(f"line {lineno}: {exc}") from None
    if not parsed:
        raise ValueError("no products found")
    used = [v for forms in parsed if forms for f in forms for v in f]
    flat = any(letter in "xyz" for letter, _, _ in used)
    if flat and any(letter in "abc" for letter, _, _ in used):
        raise ValueError("mixes matrix variables (a, b, c) with flat ones (x, y, z)")
    if flat:
        if target is None:
            raise ValueError("x/y/z variables need an explicit target tensor")
        sizes = tuple(int(s) for s in target.shape)

        def row(pos: int, var: Var) -> int:
            return var[1] - 1
    else:
        if target is not None:
            raise ValueError("an explicit target needs flat x/y/z variables")
        if shape is None:
            big = {"a": [1, 1], "b": [1, 1], "c": [1, 1]}
            for letter, i, j in used:
                big[letter][0] = max(big[letter][0], i)
                big[letter][1] = max(big[letter][1], j)
            shape = (max(big["a"][0], big["c"][1]), max(big["a"][1], big["b"][0]),
                     max(big["b"][1], big["c"][0]))
        n, m, p = limits.check_shape(shape)
        sizes = (n * m, m * p, p * n)
        dims = ((n, m), (m, p), (p, n))

        def row(pos: int, var: Var) -> int:
            _, i, j = var
            if i > dims[pos][0] or j > dims[pos][1]:
                return -1
            return (i - 1) * dims[pos][1] + (j - 1)
    rank = len(parsed)
    limits.check_rank(rank, sizes)
    entries: list[dict[tuple[int, int], Gauss]] = [{}, {}, {}]
    for r, forms in enumerate(parsed):
        if forms is None:
            continue
        for pos, form in enumerate(forms):
            for var, value in form.items():
                k = row(pos, var)
                if not 0 <= k < sizes[pos]:
                    letter, i, j = var
                    raise ValueError(f"product {r + 1}: {letter}{i}{j or ''} is outside the "
                                     f"shape {shape if not flat else sizes}")
                entries[pos][(k, r)] = value
    return scheme_from_entries(entries, sizes, rank, ring,  # type: ignore[arg-type]
                               shape=None if flat else shape, target=target)


def _format_coef(value: Gauss, first: bool) -> str:
    if value.im:
        return ("" if first else "+") + f"{value}*"
    sign = "-" if value.re < 0 else ("" if first else "+")
    mag = abs(value.re)
    return sign + ("" if mag == 1 else f"{mag}*")


def format_products(scheme: Scheme) -> list[str]:
    """The scheme's products in the text notation, one string per term (a zero
    term is ``(0)*(0)*(0)``, which :func:`parse_products` reads back)."""
    if scheme.shape is not None:
        n, m, p = scheme.shape
        wide = max(scheme.shape) > 9
        dims = ((n, m), (m, p), (p, n))

        def name(letter: str, pos: int, row: int) -> str:
            i, j = divmod(row, dims[pos][1])
            return f"{letter}_{i + 1}_{j + 1}" if wide else f"{letter}{i + 1}{j + 1}"
    else:
        def name(letter: str, pos: int, row: int) -> str:
            return f"{'xyz'[pos]}{row + 1}"

    imag = scheme.imag or (None, None, None)
    lines = []
    for r in range(scheme.rank):
        groups = []
        for pos, (mat, im, den, letter) in enumerate(zip((scheme.u, scheme.v, scheme.w), imag,
                                                         scheme.denominators, "abc")):
            col = mat[:, r]
            icol = im[:, r] if im is not None else np.zeros_like(col)
            parts = []
            for row in np.flatnonzero((col != 0) | (icol != 0)):
                value = Gauss(Fraction(int(col[row]), den), Fraction(int(icol[row]), den))
                parts.append(_format_coef(value, not parts) + name(letter, pos, int(row)))
            groups.append("(" + "".join(parts) + ")" if parts else "(0)")
        if "(0)" in groups:
            groups = ["(0)"] * 3
        lines.append("*".join(groups))
    return lines
