"""What every scheme format shares: the error, the record, shapes, exact
coefficients (rational and Gaussian-rational) and building a checked Scheme."""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .. import limits, tensors
from ..tensors import Scheme, Shape


class FormatError(ValueError):
    """A scheme file that cannot be read or written; the message names the file."""


@dataclasses.dataclass(frozen=True)
class SchemeRecord:
    """A scheme with the name it has in its file and where it came from.

    Attributes:
      name: the key in an ``.npz``, the ``name`` in a ``.json``, else the file stem.
      scheme: the decomposition.
      provenance: free-form facts (source, date, command, ...), JSON-serialisable.
    """

    name: str
    scheme: Scheme
    provenance: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Gauss:
    """An exact Gaussian rational ``re + im·i`` (``im`` is 0 for rationals).

    A part is an ``int`` where it is a whole number as read (:func:`exact_number`) and a
    ``Fraction`` otherwise: the two compare and hash alike, and integer coefficients, nearly
    all of them in practice, then multiply at ``int`` speed."""

    re: Fraction | int
    im: Fraction | int = 0

    def __add__(self, other: "Gauss") -> "Gauss":
        return Gauss(self.re + other.re, self.im + other.im)

    def __neg__(self) -> "Gauss":
        return Gauss(-self.re, -self.im)

    def __sub__(self, other: "Gauss") -> "Gauss":
        return self + (-other)

    def __mul__(self, other: "Gauss") -> "Gauss":
        if not self.im and not other.im:
            return Gauss(self.re * other.re)
        return Gauss(self.re * other.re - self.im * other.im,
                     self.re * other.im + self.im * other.re)

    def __truediv__(self, other: "Gauss") -> "Gauss":
        norm = Fraction(other.re * other.re + other.im * other.im)   # int / int would be a float
        if norm == 0:
            raise ValueError("division by zero")
        return self * Gauss(other.re / norm, -other.im / norm)

    def __bool__(self) -> bool:
        return bool(self.re) or bool(self.im)

    def __str__(self) -> str:
        if not self.im:
            return str(self.re)
        if not self.re:
            return f"{self.im}*i"
        return f"({self.re}{'+' if self.im > 0 else '-'}{abs(self.im)}*i)"


ONE = Gauss(1)
ZERO = Gauss(0)


def exact_number(text: str, what: str = "coefficient") -> Fraction | int:
    """``"3"``, ``"-1/2"``, ``"0.125"`` → an exact number within the digit limits: an ``int``
    when it is whole (``"4/2"`` → 2), else a ``Fraction``."""
    text = text.strip()
    for part in re.findall(r"\d+", text):
        limits.check_digits(part, what)
    try:
        value = Fraction(text)
    except ZeroDivisionError:
        raise ValueError(f"{what} {text!r} divides by zero") from None
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    limits.check_coefficient(value.numerator, what)
    limits.check_coefficient(value.denominator, what)
    return value.numerator if value.denominator == 1 else value


def parse_shape(text: str) -> Shape:
    """``"n,m,p"`` (also ``nxmxp``) → ``(n, m, p)``; ``ValueError`` otherwise."""
    parts = re.split(r"[,x×]", text.strip())
    try:
        shape = tuple(int(limits.check_digits(x.strip(), "dimension")) for x in parts)
    except ValueError as exc:
        if "digits" in str(exc):
            raise
        shape = ()
    if len(shape) != 3 or any(d < 1 for d in shape):
        raise ValueError(f"shape must be three positive integers like 2,3,4, got {text!r}")
    return limits.check_shape(shape)


def infer_shape(sizes: Sequence[int]) -> Shape:
    """``(n, m, p)`` from the factor sizes ``(n·m, m·p, p·n)``; ``ValueError`` if none fits."""
    s1, s2, s3 = (int(x) for x in sizes)
    n = math.isqrt(s1 * s3 // s2) if s2 else 0
    if n > 0 and s1 % n == 0 and s3 % n == 0:
        m, p = s1 // n, s3 // n
        if (n * m, m * p, p * n) == (s1, s2, s3):
            return limits.check_shape((n, m, p))
    raise ValueError(f"factor sizes {(s1, s2, s3)} are not those of any matrix product ⟨n,m,p⟩")


def rational_matrix(values: np.ndarray) -> tuple[np.ndarray, int]:
    """A real numeric matrix as ``(integer numerators, common positive denominator)``.

    Integers pass through (unsigned ones must fit in int64 without wrapping).
    Floats are taken as the exact rational they stand for: their exact binary
    value when that has a small denominator (AlphaTensor's ±0.5, ±0.125), else
    the nearest fraction with denominator ≤ 2**16 (a float written from ``1/3``).
    Non-finite and oversized values raise ``ValueError``.
    """
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr.astype(np.int64), 1
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if hi >= limits.MAX_COEFFICIENT or lo <= -limits.MAX_COEFFICIENT:
                raise ValueError(f"an integer coefficient is too large ({hi if hi > -lo else lo}; "
                                 "a negative number stored unsigned?)")
        return arr.astype(np.int64), 1
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"coefficients must be real numbers, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("coefficients must be finite numbers")
    if np.all(arr == np.round(arr)):
        if np.abs(arr).max(initial=0) >= 2**53:
            raise ValueError("a float coefficient is too large to be an exact integer")
        return arr.astype(np.int64), 1
    fracs = {}
    for x in np.unique(arr):
        f = Fraction(float(x))
        if f.denominator > 2**16:
            f = f.limit_denominator(2**16)
        fracs[float(x)] = f
    den = math.lcm(*(f.denominator for f in fracs.values()))
    limits.check_coefficient(den, "common denominator")
    lut = {k: f.numerator * (den // f.denominator) for k, f in fracs.items()}
    for v in lut.values():
        limits.check_coefficient(v)
    out = np.vectorize(lambda x: lut[float(x)], otypes=[np.int64])(arr)
    return out.astype(np.int64), den


def scheme_from_entries(entries: Sequence[Mapping[tuple[int, int], Gauss]],
                        sizes: tuple[int, int, int], rank: int, ring: str = "Z",
                        shape: Shape | None = None, target: np.ndarray | None = None) -> Scheme:
    """A Scheme from three sparse factor matrices of exact coefficients.

    Args:
      entries: for u, v and w, ``{(row, term): coefficient}``.
      sizes: ``(S1, S2, S3)``; rank: the number of terms (both within the limits).
      ring: ``"Z"`` (characteristic 0), ``"Z2"`` or ``"Z3"``: coefficients are
        reduced mod p, which needs denominators prime to p and no imaginary part.
    """
    limits.check_rank(rank, sizes)
    nums, imags, dens = [], [], []
    for pos in range(3):
        values = entries[pos]
        den = math.lcm(1, *(c.re.denominator for c in values.values()),
                       *(c.im.denominator for c in values.values()))
        limits.check_coefficient(den, "denominator")
        re_m = np.zeros((sizes[pos], rank), dtype=np.int64)
        im_m = np.zeros((sizes[pos], rank), dtype=np.int64)
        for (row, col), c in values.items():
            re_m[row, col] = limits.check_coefficient(int(c.re * den))
            im_m[row, col] = limits.check_coefficient(int(c.im * den))
        nums.append(re_m)
        imags.append(im_m)
        dens.append(den)
    has_imag = any(np.any(x) for x in imags)
    return held_in(Scheme(*nums, shape=shape, denominators=tuple(dens), target=target,
                          imag=tuple(imags) if has_imag else None), ring)


def held_in(scheme: Scheme, ring: str) -> Scheme:
    """A characteristic-0 scheme just read, held in ``ring``'s arithmetic (reduced mod p
    for Z2/Z3 by ``tensors.as_ring``); ``ValueError`` when a coefficient has no meaning
    there (a complex one, or a denominator divisible by p)."""
    p = tensors.modulus(ring)
    if not p:
        return scheme
    if scheme.imag is not None:
        raise ValueError(f"complex coefficients have no meaning in {ring}")
    bad = [d for d in scheme.denominators if d % p == 0]
    if bad:
        raise ValueError(f"a coefficient with denominator {bad[0]} has no meaning in {ring}")
    return tensors.as_ring(scheme, ring)[0]


def scheme_from_dense(mats: Sequence[Sequence[Sequence[Gauss]]], shape: Shape,
                      ring: str = "Z") -> Scheme:
    """A Scheme from three dense ``(R, S_i)`` lists of terms × coefficients (the
    layout of Perminov's JSON and the ternary tool: term by term, C transposed)."""
    n, m, p = shape
    sizes = (n * m, m * p, p * n)
    rank = len(mats[0])
    limits.check_rank(rank, sizes)
    if len(mats) != 3 or any(len(x) != rank for x in mats):
        raise ValueError("u, v and w must have one row per term, the same number each")
    entries: list[dict[tuple[int, int], Gauss]] = [{}, {}, {}]
    for pos in range(3):
        for r, row in enumerate(mats[pos]):
            if len(row) != sizes[pos]:
                raise ValueError(f"term {r + 1}: factor {'uvw'[pos]} has {len(row)} "
                                 f"coefficients, ⟨{n},{m},{p}⟩ needs {sizes[pos]}")
            for i, c in enumerate(row):
                if c:
                    entries[pos][(i, r)] = c
    return scheme_from_entries(entries, sizes, rank, ring, shape=shape)


def dense_terms(scheme: Scheme) -> list[list[list[Gauss]]]:
    """The inverse of :func:`scheme_from_dense`: ``[u, v, w]``, each R lists of S_i coefficients."""
    imag = scheme.imag or (None, None, None)
    out = []
    for mat, im, d in zip((scheme.u, scheme.v, scheme.w), imag, scheme.denominators):
        out.append([[Gauss(Fraction(int(mat[i, r]), d),
                           Fraction(int(im[i, r]), d) if im is not None else Fraction(0))
                     for i in range(mat.shape[0])] for r in range(scheme.rank)])
    return out


def read_text_file(path: Path) -> str:
    """A file's UTF-8 text, refused beyond the size limit."""
    try:
        limits.check_file_size(path)
    except ValueError as exc:
        raise FormatError(f"{path}: {exc}") from None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
