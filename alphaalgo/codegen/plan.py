"""From a verified scheme to the block operations of one level of a kernel.

One level of a scheme for ⟨n,m,p⟩ cuts A ``(M, K)`` into ``n×m`` blocks, B
``(K, N)`` into ``m×p`` and C ``(M, N)`` into ``n×p``; product r is

    P_r = (Σ_ij u[i*m+j, r]/du · A_ij) @ (Σ_jk v[j*p+k, r]/dv · B_jk)

and it adds ``w[k*n+i, r]/dw · P_r`` to ``C_ik`` (the third factor indexes C
transposed).  Coefficients become floats here: the shipped rationals (±1/2,
±1/8) are exact in binary floating point.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from .. import tensors
from ..tensors import Scheme


class NotAMatmulAlgorithm(ValueError):
    """The scheme is not valid over Z (e.g. a Z2 scheme): no real matmul kernel exists."""


@dataclasses.dataclass(frozen=True)
class Product:
    """One product of a level.

    Attributes:
      a_terms: ``((i, j, coef), ...)``: the left operand ``Σ coef·A_ij``.
      b_terms: ``((j, k, coef), ...)``: the right operand ``Σ coef·B_jk``.
      c_terms: ``((i, k, coef, first), ...)``: ``C_ik += coef·P``; ``first`` is True
        for the first product (in order) that reaches block ``C_ik``.
    """

    a_terms: tuple[tuple[int, int, float], ...]
    b_terms: tuple[tuple[int, int, float], ...]
    c_terms: tuple[tuple[int, int, float, bool], ...]


@dataclasses.dataclass(frozen=True)
class LevelPlan:
    """The block operations of one level of a scheme.

    Attributes:
      shape: ``(n, m, p)``.  rank: number of products (zero terms dropped).
      hash: ``tensors.canonical_hash`` of the scheme.  name: for comments.
      products: the R products in the scheme's order.
      additions: additions of the straightforward evaluation.
    """

    shape: tuple[int, int, int]
    rank: int
    hash: str
    name: str
    products: tuple[Product, ...]
    additions: int


def _coef(num: int, den: int) -> float:
    return float(num) / float(den)


def check_real(scheme: Scheme) -> None:
    """Raise :class:`NotAMatmulAlgorithm` unless ``scheme`` is a matmul scheme valid
    over the rationals, the only ones a real kernel can run: Z2/Z3 schemes hold only
    mod p, and Gaussian ones need complex arithmetic."""
    if scheme.shape is None:
        raise NotAMatmulAlgorithm("the scheme has no matmul shape (an explicit target)")
    if scheme.ring != "Z":
        raise NotAMatmulAlgorithm(
            f"{scheme!r} is not a matrix-multiplication algorithm over the real numbers: "
            f"it holds only mod {tensors.modulus(scheme.ring)}")
    if scheme.imag is not None:
        raise NotAMatmulAlgorithm(
            f"{scheme!r} is not a matrix-multiplication algorithm over the real numbers: "
            "it has complex coefficients (Q(i))")
    check = tensors.verify(scheme, "Q")
    if not check.valid:
        raise NotAMatmulAlgorithm(
            f"{scheme!r} is not a matrix-multiplication algorithm over the reals "
            f"({check.describe()})")


def per_level(schemes: Scheme | Sequence[Scheme], levels: int = 1) -> list[Scheme]:
    """The scheme of each level: ``schemes`` repeated ``levels`` times when it is one
    scheme, else the given list (outermost level first)."""
    if isinstance(schemes, Scheme):
        if levels < 1:
            raise ValueError(f"levels must be at least 1, got {levels}")
        return [schemes] * levels
    out = list(schemes)
    if not out:
        raise ValueError("no scheme given")
    return out


def level_plan(scheme: Scheme, name: str = "") -> LevelPlan:
    """The plan of one level of ``scheme``, verified exactly over Z first.

    Raises:
      NotAMatmulAlgorithm: when the scheme is not valid over Z (Z2-only schemes).
    """
    check_real(scheme)
    s = tensors.drop_zero_terms(scheme.replace(ring="Z") if scheme.ring != "Z" else scheme)
    n, m, p = s.shape
    du, dv, dw = s.denominators
    touched: set[tuple[int, int]] = set()
    products = []
    for r in range(s.rank):
        a = tuple((int(x) // m, int(x) % m, _coef(s.u[x, r], du)) for x in np.flatnonzero(s.u[:, r]))
        b = tuple((int(x) // p, int(x) % p, _coef(s.v[x, r], dv)) for x in np.flatnonzero(s.v[:, r]))
        c = []
        for x in np.flatnonzero(s.w[:, r]):
            k, i = int(x) // n, int(x) % n
            c.append((i, k, _coef(s.w[x, r], dw), (i, k) not in touched))
            touched.add((i, k))
        products.append(Product(a, b, tuple(sorted(c))))
    return LevelPlan(shape=s.shape, rank=s.rank, hash=tensors.canonical_hash(scheme),
                     name=name or f"{n}x{m}x{p}-r{s.rank}", products=tuple(products),
                     additions=tensors.addition_count(s))


def describe_product(r: int, prod: Product) -> str:
    """``m3 = (a11 - a21)·(b22) → c12 += m3`` (1-based, C itself, not transposed)."""
    def lin(terms, letter):
        out = []
        for t in terms:
            i, j, c = t[0], t[1], t[2]
            sign = "-" if c < 0 else "+"
            mag = "" if abs(c) == 1.0 else f"{abs(c):g}·"
            out.append(f"{sign} {mag}{letter}{i + 1}{j + 1}")
        text = " ".join(out)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]
    outs = "; ".join(f"c{i + 1}{k + 1} += {'' if w == 1 else f'{w:g}·'}m{r + 1}"
                     for i, k, w, _ in prod.c_terms)
    return f"m{r + 1} = ({lin(prod.a_terms, 'a')})·({lin(prod.b_terms, 'b')}) → {outs}"
