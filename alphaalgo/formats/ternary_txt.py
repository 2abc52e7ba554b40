"""The ternary flip-graph tool's ``.txt`` (``dronperminov/ternary_flip_graph``, MIT).

First line ``n1 n2 n3 R``; then three lines: U, V and W term by term (R·n1·n2,
R·n2·n3 and R·n3·n1 numbers, W indexing C transposed).  Fractional schemes
write each coefficient as ``numerator denominator``, which the count of numbers
tells apart.  A file of several schemes starts with their count on a line of
its own.  The same text is recognised in a ``.txt`` by its first line.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Sequence

from .. import limits
from ..tensors import Scheme
from .common import Gauss, dense_terms, exact_number, scheme_from_dense

_HEADER = re.compile(r"^\s*\d+\s+\d+\s+\d+\s+\d+\s*$")
_COUNT = re.compile(r"^\s*\d+\s*$")


def looks_like_ternary(text: str) -> bool:
    """True when ``text`` starts like the ternary tool's output (``n1 n2 n3 R``, or a count
    followed by that)."""
    lines = [ln for ln in text.splitlines()[:3] if ln.strip()]
    if not lines:
        return False
    if _HEADER.match(lines[0]):
        return True
    return len(lines) > 1 and bool(_COUNT.match(lines[0])) and bool(_HEADER.match(lines[1]))


def schemes_from_ternary(text: str, ring: str = "Z") -> list[Scheme]:
    """Every scheme of a ternary-tool ``.txt`` (one, or a count and several)."""
    tokens = text.split()
    for tok in tokens:
        if not re.fullmatch(r"-?\d+", tok):
            raise ValueError(f"unexpected {tok[:20]!r}: the ternary format holds integers only")
        limits.check_digits(tok.lstrip("-"))
    pos = 0
    lines = [ln for ln in text.splitlines() if ln.strip()]
    count = 1
    if lines and _COUNT.match(lines[0]) and not _HEADER.match(lines[0]):
        count = int(tokens[0])
        pos = 1
        if count < 1 or count > 100_000:
            raise ValueError(f"scheme count {count} is out of range")
    schemes = []
    for index in range(count):
        if pos + 4 > len(tokens):
            raise ValueError(f"scheme {index + 1}: the file ends before its header")
        n, m, p, rank = (int(x) for x in tokens[pos:pos + 4])
        pos += 4
        shape = limits.check_shape((n, m, p))
        sizes = (n * m, m * p, p * n)
        limits.check_rank(rank, sizes)
        need = rank * sum(sizes)
        rest = len(tokens) - pos
        # Integer schemes write `need` numbers; fractional ones 2·need.  With
        # several schemes, the next header tells where this one ends.
        fractional = rest >= 2 * need and (count == 1 and rest == 2 * need
                                            or count > 1 and not _header_at(tokens, pos + need))
        width = 2 if fractional else 1
        if rest < need * width:
            raise ValueError(f"scheme {index + 1}: expected {need * width} numbers, found {rest}")
        values = tokens[pos:pos + need * width]
        pos += need * width
        coefs = []
        for k in range(need):
            if fractional:
                den = int(values[2 * k + 1])
                if den == 0:
                    raise ValueError("a denominator is zero")
                coefs.append(Gauss(Fraction(int(values[2 * k]), den)))
            else:
                coefs.append(Gauss(exact_number(values[k])))
        mats: list[list[list[Gauss]]] = []
        start = 0
        for size in sizes:
            mats.append([coefs[start + r * size:start + (r + 1) * size] for r in range(rank)])
            start += rank * size
        schemes.append(scheme_from_dense(mats, shape, ring))
    if pos != len(tokens):
        raise ValueError(f"{len(tokens) - pos} numbers left over after the last scheme")
    return schemes


def _header_at(tokens: list[str], pos: int) -> bool:
    if pos + 4 > len(tokens):
        return False
    try:
        n, m, p, r = (int(x) for x in tokens[pos:pos + 4])
    except ValueError:
        return False
    return all(1 <= d <= limits.MAX_DIM for d in (n, m, p)) and 1 <= r <= limits.MAX_RANK


def ternary_text(schemes: Sequence[Scheme]) -> str:
    """Schemes in the ternary tool's ``.txt`` (a count line first when there are several)."""
    out = [str(len(schemes))] if len(schemes) > 1 else []
    for s in schemes:
        if s.shape is None:
            raise ValueError("the ternary format holds matmul schemes only")
        if s.imag is not None:
            raise ValueError("the ternary format holds real coefficients only")
        u, v, w = dense_terms(s)
        integral = s.denominators == (1, 1, 1)
        out.append(" ".join(str(d) for d in (*s.shape, s.rank)))
        for mat in (u, v, w):
            nums = [c.re for row in mat for c in row]
            out.append(" ".join(str(int(x)) if integral else f"{x.numerator} {x.denominator}"
                                for x in nums))
    return "\n".join(out) + "\n"
