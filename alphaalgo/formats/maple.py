"""Maple ``.m`` lists (Kauers–Moosbauer's ``flips``, GPL-3; Perminov's collection, MIT).

``{{{A}, {B}, {C}}, ...}``: one entry per product, each three matrices written
row by row — A as ``n×m``, B as ``m×p`` and C **transposed**, ``p×n`` (the same
``c_ki`` convention as the text notation).  Entries are integers or fractions
(``-1/2``).  Only braces, commas and numbers are read; anything else is refused.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from .. import limits
from ..tensors import Scheme
from .common import Gauss, dense_terms, exact_number, scheme_from_dense

_TOKEN = re.compile(r"\s*(?:(?P<num>-?\s*\d+(?:\s*/\s*\d+)?)|(?P<op>[{},]))")


def _parse_list(text: str) -> Any:
    """Maple's nested ``{…}`` lists of numbers → nested Python lists of Gauss."""
    limits.check_nesting(text, "{", "}")
    body = text.strip().rstrip(";:").strip()
    stack: list[list] = []
    result = None
    pos = 0
    expect_item = True
    while pos < len(body):
        mt = _TOKEN.match(body, pos)
        if not mt or mt.end() == pos:
            raise ValueError(f"cannot read {body[pos:pos + 20]!r}")
        pos = mt.end()
        if mt.group("num") is not None:
            if not stack or not expect_item:
                raise ValueError("a number outside a list or without a comma")
            stack[-1].append(Gauss(exact_number(re.sub(r"\s+", "", mt.group("num")))))
            expect_item = False
        elif mt.group("op") == "{":
            if stack and not expect_item:
                raise ValueError("missing ',' between lists")
            if result is not None:
                raise ValueError("text after the closing '}'")
            stack.append([])
            expect_item = True
        elif mt.group("op") == "}":
            if not stack:
                raise ValueError("unbalanced '}'")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            else:
                result = done
            expect_item = False
        else:  # ','
            if not stack or expect_item:
                raise ValueError("misplaced ','")
            expect_item = True
    if stack or result is None:
        raise ValueError("unbalanced '{'")
    return result


def scheme_from_maple(text: str, ring: str = "Z") -> Scheme:
    """A Maple ``.m`` list of products → a Scheme (shape from the matrices' sizes)."""
    products = _parse_list(text)
    if not isinstance(products, list) or not products:
        raise ValueError("expected a non-empty list of products")
    limits.check_rank(len(products))
    if not all(isinstance(p, list) and len(p) == 3 for p in products):
        raise ValueError("each product must be a list of three matrices {A, B, C}")

    def dims(mat: Any, what: str) -> tuple[int, int]:
        if (not isinstance(mat, list) or not mat or not all(isinstance(r, list) for r in mat)
                or len({len(r) for r in mat}) != 1
                or not all(isinstance(x, Gauss) for r in mat for x in r)):
            raise ValueError(f"{what} must be a rectangular matrix of numbers")
        return len(mat), len(mat[0])

    (n, m), (m2, p), (p2, n2) = (dims(x, w) for x, w in zip(products[0], "ABC"))
    if (m, p, n) != (m2, p2, n2):
        raise ValueError(f"matrix sizes {n}×{m}, {m2}×{p}, {p2}×{n2} do not make a product "
                         "(C is written transposed, p×n)")
    shape = limits.check_shape((n, m, p))
    terms: list[list[list[Gauss]]] = [[], [], []]
    for r, prod in enumerate(products):
        for pos, (mat, want) in enumerate(zip(prod, ((n, m), (m, p), (p, n)))):
            if dims(mat, "ABC"[pos]) != want:
                raise ValueError(f"product {r + 1}: matrix {'ABC'[pos]} is not {want[0]}×{want[1]}")
            terms[pos].append([x for row in mat for x in row])
    return scheme_from_dense(terms, shape, ring)


def maple_text(scheme: Scheme) -> str:
    """A scheme as a Maple ``.m`` list (real coefficients only)."""
    if scheme.shape is None:
        raise ValueError("Maple lists hold matmul schemes only")
    if scheme.imag is not None:
        raise ValueError("the Maple format here holds real coefficients only")
    n, m, p = scheme.shape
    u, v, w = dense_terms(scheme)

    def matrix(row: Sequence[Gauss], rows: int, cols: int) -> str:
        return "{" + ", ".join("{" + ", ".join(str(row[i * cols + j].re) for j in range(cols)) + "}"
                               for i in range(rows)) + "}"

    lines = ["{" + matrix(u[r], n, m) + ", " + matrix(v[r], m, p) + ", " + matrix(w[r], p, n) + "}"
             for r in range(scheme.rank)]
    return "{\n  " + ",\n  ".join(lines) + "\n}\n"
