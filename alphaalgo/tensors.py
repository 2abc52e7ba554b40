"""Targets, decompositions and their exact algebra.

Conventions (AlphaTensor's): the tensor of ⟨n,m,p⟩ has shape ``(n*m, m*p, p*n)``
and ``T[i*m+j, j*p+k, k*n+i] = 1``; the third factor indexes C transposed.  A
scheme of rank R is three factor matrices ``u: (n*m, R)``, ``v: (m*p, R)``,
``w: (p*n, R)`` with ``einsum('ir,jr,kr->ijk', u, v, w) == T``.  Column ``r`` of
``u`` read as an ``n×m`` matrix (``u[:, r].reshape(n, m)``) holds the
coefficients of A in the r-th product; ``v`` likewise ``m×p`` for B and ``w``
``p×n`` for C transposed.

Rational schemes (AlphaTensor's float files hold ±0.5, ±0.125) are held exactly:
each factor matrix is an integer matrix over one positive denominator, so
``u = U / du``; Gaussian-rational schemes (AlphaEvolve's ⟨4,4,4⟩ rank 48) add
integer imaginary parts over the same denominators.  Verification is integer
arithmetic throughout, never floating point: a scheme is valid in characteristic
0 when ``Σ_r U⊗V⊗W == du·dv·dw · T`` exactly, and mod p when that holds mod p
(denominators must then be prime to p).

Rings.  A scheme is *held* in one of three arithmetics (``Scheme.ring``): ``"Z"``
(characteristic 0: integers, rationals, Gaussian rationals), ``"Z2"`` or ``"Z3"``
(coefficients mod 2 or mod 3).  It is *checked* in one of the rings of
:data:`RING_LABELS` — ZT (integers in {-1, 0, 1}, valid over every ring), Z, Q,
Q(i), Z2, Z3 — and labelled with the smallest of them it is valid over
(:func:`ring_label`).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Iterable, Literal, Sequence

import numpy as np

Ring = Literal["Z", "Z2"]
#: The rings the search engine and the agent play in.
RINGS: tuple[str, ...] = ("Z", "Z2")
#: The arithmetics a :class:`Scheme` may be held in (``Scheme.ring``).
ARITHMETICS: tuple[str, ...] = ("Z", "Z2", "Z3")
#: The rings a scheme can be checked in, from the smallest coefficient set up,
#: then the finite fields: ZT ⊂ Z ⊂ Q ⊂ Q(i); Z2, Z3.
RING_LABELS: tuple[str, ...] = ("ZT", "Z", "Q", "Q(i)", "Z2", "Z3")
Shape = tuple[int, int, int]


def modulus(ring: str) -> int:
    """The characteristic of ``ring``: 2 for Z2, 3 for Z3, else 0."""
    return {"Z2": 2, "Z3": 3}.get(ring, 0)


def arithmetic(ring: str) -> str:
    """The arithmetic a scheme checked in ``ring`` is held in (``Z``, ``Z2`` or ``Z3``)."""
    if ring not in RING_LABELS and ring not in ARITHMETICS:
        raise ValueError(f"unknown ring {ring!r}; expected one of {', '.join(RING_LABELS)}")
    return ring if ring in ("Z2", "Z3") else "Z"


def reduce_mod(mat: np.ndarray, p: int) -> np.ndarray:
    """Integers mod ``p``: ``{0, 1}`` for p = 2, balanced ``{-1, 0, 1}`` for p = 3."""
    if p == 2:
        return np.asarray(mat) % 2
    return (np.asarray(mat) + 1) % 3 - 1

_INT64_LIMIT = 2**62  # headroom below 2**63 for the partial sums of verification


def matmul_tensor(n: int, m: int, p: int) -> np.ndarray:
    """The tensor of ⟨n,m,p⟩: ``int8`` array of shape ``(n*m, m*p, p*n)``."""
    for d in (n, m, p):
        if int(d) != d or d < 1:
            raise ValueError(f"matrix sizes must be positive integers, got {(n, m, p)}")
    t = np.zeros((n * m, m * p, p * n), dtype=np.int8)
    i, j, k = np.meshgrid(np.arange(n), np.arange(m), np.arange(p), indexing="ij")
    t[(i * m + j).ravel(), (j * p + k).ravel(), (k * n + i).ravel()] = 1
    return t


def _as_int_matrix(a: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"factor {name} must be a 2-D array (size, rank), got shape {arr.shape}")
    if arr.dtype == object:
        if not all(isinstance(x, (int, np.integer)) for x in arr.ravel()):
            raise ValueError(f"factor {name} must hold integers")
        big = max((abs(int(x)) for x in arr.ravel()), default=0)
        if big >= _INT64_LIMIT:
            raise ValueError(f"factor {name} has a coefficient too large for int64: {big}")
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"factor {name} must have an integer dtype, got {arr.dtype}")
    return arr.astype(np.int64)


@dataclasses.dataclass(frozen=True, eq=False)
class Scheme:
    """A decomposition of a target tensor into R rank-1 terms.

    Attributes:
      u: integer numerators of the first factors, ``int64 (S1, R)``.
      v: integer numerators of the second factors, ``int64 (S2, R)``.
      w: integer numerators of the third factors, ``int64 (S3, R)``.
      ring: the arithmetic it is held in: ``"Z"`` (characteristic 0: integers,
        rationals, Gaussian rationals), ``"Z2"`` (mod 2, entries 0/1) or
        ``"Z3"`` (mod 3, entries -1/0/1).
      shape: ``(n, m, p)`` when the target is the matmul tensor ⟨n,m,p⟩, else ``None``.
      denominators: positive ``(du, dv, dw)``; the factors are ``u/du``, ``v/dv``, ``w/dw``.
      target: the explicit target ``(S1, S2, S3)`` when ``shape`` is ``None``.
      imag: ``None``, or the integer numerators of the imaginary parts
        ``(ui (S1, R), vi (S2, R), wi (S3, R))`` over the same denominators: the
        factors are then ``(u + i·ui)/du`` and so on (only with ring ``"Z"``).
    """

    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    ring: str = "Z"
    shape: Shape | None = None
    denominators: tuple[int, int, int] = (1, 1, 1)
    target: np.ndarray | None = None
    imag: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        u = _as_int_matrix(self.u, "u")
        v = _as_int_matrix(self.v, "v")
        w = _as_int_matrix(self.w, "w")
        if not (u.shape[1] == v.shape[1] == w.shape[1]):
            raise ValueError(
                f"factors disagree on the rank: u has {u.shape[1]} columns, "
                f"v {v.shape[1]}, w {w.shape[1]}")
        if self.ring not in ARITHMETICS:
            raise ValueError(f"unknown ring {self.ring!r}; expected one of {', '.join(ARITHMETICS)}")
        dens = tuple(int(d) for d in self.denominators)
        if len(dens) != 3 or any(d < 1 for d in dens):
            raise ValueError(f"denominators must be three positive integers, got {self.denominators}")
        imag = None
        if self.imag is not None:
            if self.ring != "Z":
                raise ValueError("imaginary parts need ring 'Z' (characteristic 0)")
            imag = [_as_int_matrix(x, f"{name} (imaginary part)")
                    for x, name in zip(self.imag, "uvw")]
            if [x.shape for x in imag] != [u.shape, v.shape, w.shape]:
                raise ValueError("imaginary parts must have the shapes of u, v and w")
            if not any(np.any(x) for x in imag):
                imag = None
        p = modulus(self.ring)
        if p:
            if dens != (1, 1, 1):
                raise ValueError(f"a {self.ring} scheme cannot have denominators")
            u, v, w = reduce_mod(u, p), reduce_mod(v, p), reduce_mod(w, p)
        if self.shape is not None:
            shape = tuple(int(d) for d in self.shape)
            if len(shape) != 3 or any(d < 1 for d in shape):
                raise ValueError(f"shape must be three positive integers, got {self.shape}")
            n, m, p = shape
            want = (n * m, m * p, p * n)
            got = (u.shape[0], v.shape[0], w.shape[0])
            if got != want:
                raise ValueError(
                    f"factor sizes {got} do not match shape ⟨{n},{m},{p}⟩, which needs {want}")
            object.__setattr__(self, "shape", shape)
            if self.target is not None:
                raise ValueError("give either shape or an explicit target, not both")
        else:
            if self.target is None:
                raise ValueError("a scheme needs a shape (n, m, p) or an explicit target tensor")
            tgt = np.asarray(self.target)
            if tgt.ndim != 3 or not np.issubdtype(tgt.dtype, np.integer):
                raise ValueError("an explicit target must be a 3-D integer array")
            if tgt.shape != (u.shape[0], v.shape[0], w.shape[0]):
                raise ValueError(
                    f"factor sizes {(u.shape[0], v.shape[0], w.shape[0])} do not match "
                    f"the target's shape {tgt.shape}")
            tgt = tgt.astype(np.int64)
            tgt.flags.writeable = False
            object.__setattr__(self, "target", tgt)
        # Reduce each factor matrix by the gcd it shares with its denominator.
        mats = []
        imags = []
        new_dens = []
        for pos, (mat, d) in enumerate(zip((u, v, w), dens)):
            im = imag[pos] if imag is not None else np.zeros((0,), np.int64)
            g = (math.gcd(d, *(int(x) for x in np.unique(np.abs(mat))),
                          *(int(x) for x in np.unique(np.abs(im)))) if d > 1 else 1)
            if g > 1:
                mat, im, d = mat // g, im // g, d // g
            for arr, out in ((mat, mats), (im, imags)):
                arr = np.ascontiguousarray(arr)
                arr.flags.writeable = False
                out.append(arr)
            new_dens.append(d)
        object.__setattr__(self, "u", mats[0])
        object.__setattr__(self, "v", mats[1])
        object.__setattr__(self, "w", mats[2])
        object.__setattr__(self, "imag", tuple(imags) if imag is not None else None)
        object.__setattr__(self, "denominators", tuple(new_dens))

    # ------------------------------------------------------------------ basics
    @property
    def rank(self) -> int:
        """Number of rank-1 terms (multiplications)."""
        return int(self.u.shape[1])

    @property
    def sizes(self) -> tuple[int, int, int]:
        """``(S1, S2, S3)``, the target tensor's shape."""
        return (self.u.shape[0], self.v.shape[0], self.w.shape[0])

    @property
    def is_integral(self) -> bool:
        """True when every coefficient is an integer (all denominators 1, no imaginary part)."""
        return self.denominators == (1, 1, 1) and self.imag is None

    def within(self, coefficients) -> bool:
        """True when the scheme is integral and every coefficient of its factors lies
        in ``coefficients`` (a game's coefficient set)."""
        allowed = {int(c) for c in coefficients}
        return self.is_integral and all(set(np.unique(m).tolist()) <= allowed
                                        for m in (self.u, self.v, self.w))

    @property
    def is_real(self) -> bool:
        """True when the scheme computes over the reals: characteristic 0, no imaginary part."""
        return self.ring == "Z" and self.imag is None

    def take_terms(self, cols: Sequence[int] | np.ndarray) -> "Scheme":
        """The scheme made of the terms ``cols`` (indices into ``range(R)``), in that order."""
        cols = np.asarray(cols, dtype=np.int64)
        imag = None if self.imag is None else tuple(x[:, cols] for x in self.imag)
        return self.replace(u=self.u[:, cols], v=self.v[:, cols], w=self.w[:, cols], imag=imag)

    def target_tensor(self) -> np.ndarray:
        """The tensor this scheme decomposes, ``int64 (S1, S2, S3)``."""
        if self.shape is not None:
            return matmul_tensor(*self.shape).astype(np.int64)
        assert self.target is not None
        return self.target

    def factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The factors as exact rationals: three ``object`` arrays of ``Fraction``
        (the real parts, for a Gaussian scheme)."""
        return tuple(  # type: ignore[return-value]
            np.vectorize(lambda x, d=d: Fraction(int(x), d), otypes=[object])(mat)
            for mat, d in zip((self.u, self.v, self.w), self.denominators))

    def max_abs_coefficient(self) -> Fraction:
        """Largest |coefficient| over the three factors."""
        best = Fraction(0)
        imag = self.imag or (None, None, None)
        for mat, im, d in zip((self.u, self.v, self.w), imag, self.denominators):
            for part in (mat, im):
                if part is not None and part.size:
                    best = max(best, Fraction(int(np.abs(part).max()), d))
        return best

    def replace(self, **changes) -> "Scheme":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        what = f"⟨{self.shape[0]},{self.shape[1]},{self.shape[2]}⟩" if self.shape else f"target{self.sizes}"
        dens = "" if self.denominators == (1, 1, 1) else f", denominators={self.denominators}"
        gauss = ", gaussian" if self.imag is not None else ""
        return f"Scheme({what}, rank={self.rank}, ring={self.ring}{dens}{gauss})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scheme):
            return NotImplemented
        return (self.ring == other.ring and self.shape == other.shape
                and self.denominators == other.denominators
                and np.array_equal(self.u, other.u) and np.array_equal(self.v, other.v)
                and np.array_equal(self.w, other.w)
                and (self.target is None) == (other.target is None)
                and (self.target is None or np.array_equal(self.target, other.target))
                and (self.imag is None) == (other.imag is None)
                and (self.imag is None or all(np.array_equal(a, b)
                                              for a, b in zip(self.imag, other.imag))))

    __hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------- verification
@dataclasses.dataclass(frozen=True)
class Verification:
    """The result of an exact check.

    Attributes:
      valid: True when the scheme reproduces its target exactly in ``ring``.
      ring: the ring the check was made in (one of :data:`RING_LABELS`).
      rank: the scheme's rank.
      wrong_entries: number of entries where the residual is non-zero (-1 when
        the scheme's coefficients are not in the ring at all; ``note`` says why).
      first_wrong: up to 10 ``(index, expected, got)`` triples, index ``(a, b, c)``
        into the target and values as exact rationals (strings) over the ring.
      label: the smallest ring of :data:`RING_LABELS` the scheme is valid over
        (``None`` if none); set by :func:`verify` when the check passes in
        characteristic 0 or in the scheme's own finite field.
      denominators: for label ``Q``/``Q(i)``, the primes the coefficients'
        denominators need (valid over Z[1/2] when ``(2,)``).
      note: why the coefficients are not in ``ring``, when ``wrong_entries`` is -1.
    """

    valid: bool
    ring: str
    rank: int
    wrong_entries: int
    first_wrong: tuple[tuple[tuple[int, int, int], str, str], ...] = ()
    label: str | None = None
    denominators: tuple[int, ...] = ()
    note: str = ""

    def describe(self) -> str:
        """One line for people."""
        if self.valid:
            return f"valid over {describe_ring(self.label or self.ring, self.denominators)}, rank {self.rank}"
        if self.wrong_entries < 0:
            return f"INVALID over {self.ring}, rank {self.rank}: {self.note}"
        where = "; ".join(f"T{list(i)} expected {e} got {g}" for i, e, g in self.first_wrong[:3])
        also = f"; valid over {self.label}" if self.label else ""
        return (f"INVALID over {self.ring}, rank {self.rank}: {self.wrong_entries} wrong "
                f"entries ({where}){also}")


def describe_ring(label: str, denominators: Sequence[int] = ()) -> str:
    """``"ZT (every ring)"``, ``"Q (denominators 2, 3)"``, or the label itself."""
    if label == "ZT":
        return "ZT (every ring)"
    if label in ("Q", "Q(i)") and denominators:
        return f"{label} (denominators {', '.join(str(d) for d in denominators)})"
    return label


def _sum_terms(u: np.ndarray, v: np.ndarray, w: np.ndarray, sizes: tuple[int, int, int],
               dtype: type) -> np.ndarray:
    """Exact ``Σ_r u[:, r]⊗v[:, r]⊗w[:, r]`` in ``dtype``, skipping zeros."""
    out = np.zeros(sizes, dtype=dtype)
    for r in range(u.shape[1]):
        iu, iv, iw = np.flatnonzero(u[:, r]), np.flatnonzero(v[:, r]), np.flatnonzero(w[:, r])
        if not (len(iu) and len(iv) and len(iw)):
            continue
        cu, cv, cw = (x.astype(dtype) for x in (u[iu, r], v[iv, r], w[iw, r]))
        out[np.ix_(iu, iv, iw)] += cu[:, None, None] * cv[None, :, None] * cw[None, None, :]
    return out


def _sum_dtype(*mats: np.ndarray, rank: int, extra: int = 1) -> type:
    bound = extra * max(rank, 1)
    for m in mats:
        bound *= int(np.abs(m).max(initial=0))
    return np.int64 if bound < _INT64_LIMIT else object


def reconstruct(scheme: Scheme) -> np.ndarray:
    """Exact ``Σ_r U⊗V⊗W`` of the integer numerators, shape ``(S1, S2, S3)``.

    ``int64`` when no partial sum can overflow it, Python integers (``object``)
    otherwise; the value is divided by nothing (scale it by the denominators
    yourself).  Zeros in the factors are skipped, so sparse schemes are cheap.
    For a Gaussian scheme this is the real part (see :func:`reconstruct_gaussian`).
    """
    if scheme.imag is not None:
        return reconstruct_gaussian(scheme)[0]
    dtype = _sum_dtype(scheme.u, scheme.v, scheme.w, rank=scheme.rank)
    return _sum_terms(scheme.u, scheme.v, scheme.w, scheme.sizes, dtype)


def reconstruct_gaussian(scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    """``(real, imaginary)`` parts of ``Σ_r (U+iU')⊗(V+iV')⊗(W+iW')``, exact,
    each ``(S1, S2, S3)``; the imaginary part is zero for a real scheme."""
    u, v, w = scheme.u, scheme.v, scheme.w
    ui, vi, wi = scheme.imag if scheme.imag is not None else (np.zeros_like(u), np.zeros_like(v),
                                                               np.zeros_like(w))
    both = [np.maximum(np.abs(a), np.abs(b)) for a, b in ((u, ui), (v, vi), (w, wi))]
    dtype = _sum_dtype(*both, rank=scheme.rank, extra=4)
    sizes = scheme.sizes
    re = _sum_terms(u, v, w, sizes, dtype)
    im = np.zeros(sizes, dtype=dtype)
    if scheme.imag is None:
        return re, im
    neg = lambda x: -x  # noqa: E731
    for a, b, c, sign, part in ((u, vi, wi, neg, "re"), (ui, v, wi, neg, "re"),
                                (ui, vi, w, neg, "re"), (u, v, wi, None, "im"),
                                (u, vi, w, None, "im"), (ui, v, w, None, "im"),
                                (ui, vi, wi, neg, "im")):
        term = _sum_terms(a, b, c, sizes, dtype)
        term = sign(term) if sign else term
        if part == "re":
            re = re + term
        else:
            im = im + term
    return re, im


def residual(scheme: Scheme) -> np.ndarray:
    """``target·du·dv·dw − Σ_r U⊗V⊗W``, exact, reduced mod p for Z2/Z3 schemes
    (the real part, for a Gaussian scheme)."""
    return _residuals(scheme)[0]


def _residuals(scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    scale = int(np.prod(scheme.denominators))
    rec, im = reconstruct_gaussian(scheme)
    tgt = scheme.target_tensor()
    if rec.dtype == object or scale * int(np.abs(tgt).max(initial=0)) >= _INT64_LIMIT:
        res = tgt.astype(object) * scale - rec.astype(object)
    else:
        res = tgt * scale - rec
    p = modulus(scheme.ring)
    if p:
        res = res % p
    return res, -im


def _prime_factors(n: int) -> tuple[int, ...]:
    out, d = [], 2
    while d * d <= n:
        if n % d == 0:
            out.append(d)
            while n % d == 0:
                n //= d
        d += 1
    if n > 1:
        out.append(n)
    return tuple(out)


def as_ring(scheme: Scheme, ring: str) -> tuple[Scheme | None, str]:
    """``scheme`` held in the arithmetic of ``ring``, or ``(None, why not)``.

    Into Z2/Z3 every coefficient is reduced mod p: a rational one needs a
    denominator prime to p, and a Gaussian scheme has no reduction.  Into Z
    (characteristic 0) a Z2/Z3 scheme's entries are read as the integers they are.
    """
    target_arith = arithmetic(ring)
    if target_arith == scheme.ring:
        return scheme, ""
    p = modulus(target_arith)
    if p:
        if scheme.imag is not None:
            return None, f"a Gaussian (complex) scheme has no reduction mod {p}"
        if modulus(scheme.ring):
            return None, f"a {scheme.ring} scheme has no meaning in {target_arith}"
        bad = [d for d in scheme.denominators if d % p == 0]
        if bad:
            return None, f"denominator {bad[0]} is not invertible mod {p}"
        mats = [m * pow(d, -1, p) for m, d in zip((scheme.u, scheme.v, scheme.w),
                                                   scheme.denominators)]
        return Scheme(*mats, ring=target_arith, shape=scheme.shape, target=scheme.target), ""
    return Scheme(scheme.u, scheme.v, scheme.w, ring="Z", shape=scheme.shape,
                  target=scheme.target), ""


def _membership(scheme: Scheme, ring: str) -> str:
    """Why the coefficients of a characteristic-0 scheme are not in ``ring`` ('' if they are)."""
    if ring in ("ZT", "Z", "Q") and scheme.imag is not None:
        return f"complex coefficients (the scheme needs Q(i), not {ring})"
    if ring in ("ZT", "Z") and scheme.denominators != (1, 1, 1):
        dens = _prime_factors(math.lcm(*scheme.denominators))
        return (f"non-integer coefficients (denominators {', '.join(map(str, dens))}); "
                f"valid over Q at best")
    if ring == "ZT" and any(np.abs(m).max(initial=0) > 1 for m in (scheme.u, scheme.v, scheme.w)):
        return "coefficients outside {-1, 0, 1}; valid over Z at best"
    return ""


def _smallest_char0(scheme: Scheme) -> tuple[str, tuple[int, ...]]:
    """The smallest of ZT, Z, Q, Q(i) holding the coefficients of a characteristic-0 scheme."""
    for ring in ("ZT", "Z", "Q"):
        if not _membership(scheme, ring):
            return ring, ()
    return "Q(i)", _prime_factors(math.lcm(*scheme.denominators))


def verify(scheme: Scheme, ring: str | None = None) -> Verification:
    """Check ``scheme`` exactly in ``ring`` and label it with the smallest ring it is valid over.

    ``ring`` is one of :data:`RING_LABELS` (or an arithmetic name); by default
    the scheme's own: ``Q(i)`` (i.e. any exact characteristic-0 coefficients)
    for ring ``"Z"``, else its finite field.  A characteristic-0 scheme checked
    in Z2/Z3 is reduced mod p (denominators must be prime to p); a Z2/Z3 scheme
    checked in characteristic 0 has its entries read as integers.  ``ZT``, ``Z``
    and ``Q`` also require the coefficients to lie in them.
    """
    if ring is None:
        ring = "Q(i)" if scheme.ring == "Z" else scheme.ring
    if ring not in RING_LABELS:
        if ring not in ARITHMETICS:
            raise ValueError(f"unknown ring {ring!r}; expected one of {', '.join(RING_LABELS)}")
        ring = "Q(i)" if ring == "Z" else ring
    held, why = as_ring(scheme, ring)
    if held is None:
        return Verification(False, ring, scheme.rank, -1, (), note=why)
    res, res_im = _residuals(held)
    bad = np.argwhere((res != 0) | (res_im != 0))
    p = modulus(held.ring)
    if len(bad) == 0:
        if p:
            return Verification(True, ring, scheme.rank, 0, (), label=ring)
        label, dens = _smallest_char0(held)
        why = _membership(held, ring)
        if why:
            return Verification(False, ring, scheme.rank, -1, (), label=label,
                                denominators=dens, note=why)
        if label in ("Q", "Q(i)"):
            dens = _prime_factors(math.lcm(*held.denominators))
        return Verification(True, ring, scheme.rank, 0, (), label=label, denominators=dens)
    scale = int(np.prod(held.denominators))
    tgt = held.target_tensor()
    first = []
    for idx in bad[:10]:
        a, b, c = (int(x) for x in idx)
        expected = int(tgt[a, b, c])
        got_re = Fraction(expected * scale - int(res[a, b, c]), scale)
        got = str(got_re)
        if p:
            expected, got = expected % p, str(int(got_re) % p)
        elif res_im[a, b, c]:
            got = f"{got_re}{-Fraction(int(res_im[a, b, c]), scale):+}i"
        first.append(((a, b, c), str(expected), got))
    return Verification(False, ring, scheme.rank, int(len(bad)), tuple(first))


def ring_label(scheme: Scheme) -> Verification:
    """The smallest ring of :data:`RING_LABELS` the scheme is valid over.

    Characteristic 0 first (ZT, Z, Q with its denominators, Q(i)), then Z2 and
    Z3; ``.label`` is ``None`` when the scheme is valid over none of them.
    """
    check = verify(scheme)
    if check.valid or modulus(scheme.ring):
        return check
    for ring in ("Z2", "Z3"):
        alt = verify(scheme, ring)
        if alt.valid:
            return dataclasses.replace(check, label=ring)
    return check


def is_valid(scheme: Scheme, ring: str | None = None) -> bool:
    """Shorthand for ``verify(scheme, ring).valid``."""
    return verify(scheme, ring).valid


# ------------------------------------------------------------- constructions
def naive_scheme(n: int, m: int, p: int, ring: str = "Z") -> Scheme:
    """The schoolbook algorithm: rank ``n*m*p``, one product ``A_ij·B_jk`` per term."""
    r = n * m * p
    u = np.zeros((n * m, r), np.int64)
    v = np.zeros((m * p, r), np.int64)
    w = np.zeros((p * n, r), np.int64)
    col = 0
    for i in range(n):
        for j in range(m):
            for k in range(p):
                u[i * m + j, col] = v[j * p + k, col] = w[k * n + i, col] = 1
                col += 1
    return Scheme(u, v, w, ring=ring, shape=(n, m, p))


def from_matrices(shape: Shape, products: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                  ring: str = "Z") -> Scheme:
    """A scheme from per-product coefficient matrices.

    Args:
      shape: ``(n, m, p)``.
      products: R triples ``(A_coef (n, m), B_coef (m, p), C_coef (n, p))``: the
        r-th product is ``<A_coef, A>·<B_coef, B>`` and adds ``C_coef[i, k]`` times
        itself to ``C[i, k]`` (C itself, not transposed).
    """
    n, m, p = shape
    us, vs, ws = [], [], []
    for a, b, c in products:
        us.append(np.asarray(a, np.int64).reshape(n, m).ravel())
        vs.append(np.asarray(b, np.int64).reshape(m, p).ravel())
        ws.append(np.asarray(c, np.int64).reshape(n, p).T.ravel())
    return Scheme(np.stack(us, 1), np.stack(vs, 1), np.stack(ws, 1), ring=ring, shape=shape)


# ----------------------------------------------------------- transformations
def rotate(scheme: Scheme) -> Scheme:
    """Cyclic rotation ⟨n,m,p⟩ → ⟨m,p,n⟩: the factors move ``(u, v, w) → (v, w, u)``.

    Valid because ``tr(ABC) = tr(BCA)``.
    """
    du, dv, dw = scheme.denominators
    shape = None if scheme.shape is None else (scheme.shape[1], scheme.shape[2], scheme.shape[0])
    target = None if scheme.target is None else np.transpose(scheme.target, (1, 2, 0))
    imag = None if scheme.imag is None else (scheme.imag[1], scheme.imag[2], scheme.imag[0])
    return Scheme(scheme.v, scheme.w, scheme.u, ring=scheme.ring, shape=shape,
                  denominators=(dv, dw, du), target=target, imag=imag)


def _transpose_rows(mat: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Rows of ``mat (rows*cols, R)`` reordered as if each column were transposed."""
    r = mat.shape[1]
    return mat.reshape(rows, cols, r).transpose(1, 0, 2).reshape(rows * cols, r)


def transpose(scheme: Scheme) -> Scheme:
    """Transposition ⟨n,m,p⟩ → ⟨p,m,n⟩, from ``(AB)ᵀ = BᵀAᵀ``.

    The new A is Bᵀ, the new B is Aᵀ and the new Cᵀ is C.
    """
    if scheme.shape is None:
        raise ValueError("transpose needs a matmul scheme (a shape), not an explicit target")
    n, m, p = scheme.shape
    du, dv, dw = scheme.denominators
    u2 = _transpose_rows(scheme.v, m, p)   # Bᵀ: (p, m)
    v2 = _transpose_rows(scheme.u, n, m)   # Aᵀ: (m, n)
    w2 = _transpose_rows(scheme.w, p, n)   # C : (n, p)
    imag = None
    if scheme.imag is not None:
        ui, vi, wi = scheme.imag
        imag = (_transpose_rows(vi, m, p), _transpose_rows(ui, n, m), _transpose_rows(wi, p, n))
    return Scheme(u2, v2, w2, ring=scheme.ring, shape=(p, m, n), denominators=(dv, du, dw),
                  imag=imag)


def _int_inverse(mat: np.ndarray, ring: str) -> tuple[np.ndarray, int]:
    """Exact inverse of a square integer matrix as ``(adjugate-like integer matrix, denominator)``.

    Over Z2 the inverse is taken mod 2 (denominator 1). Raises ``ValueError`` when
    the matrix is singular in the ring.
    """
    a = [[Fraction(int(x)) for x in row] for row in np.asarray(mat)]
    size = len(a)
    if any(len(row) != size for row in a):
        raise ValueError("basis-change matrices must be square")
    if ring == "Z2":
        a = [[Fraction(int(x) % 2) for x in row] for row in a]
    inv = [[Fraction(int(i == j)) for j in range(size)] for i in range(size)]
    for col in range(size):
        pivot = next((r for r in range(col, size)
                      if (a[r][col] % 2 if ring == "Z2" else a[r][col]) != 0), None)
        if pivot is None:
            raise ValueError(f"basis-change matrix is singular over {ring}")
        a[col], a[pivot] = a[pivot], a[col]
        inv[col], inv[pivot] = inv[pivot], inv[col]
        piv = a[col][col]
        a[col] = [x / piv for x in a[col]]
        inv[col] = [x / piv for x in inv[col]]
        for r in range(size):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
                inv[r] = [x - f * y for x, y in zip(inv[r], inv[col])]
    if ring == "Z2":
        # Gauss-Jordan over Q of a matrix invertible mod 2: reduce the result mod 2.
        den = math.lcm(*(x.denominator for row in inv for x in row))
        if den % 2 == 0:
            raise ValueError("basis-change matrix is singular over Z2")
        dinv = pow(den, -1, 2)
        out = np.array([[int(x * den) * dinv % 2 for x in row] for row in inv], np.int64)
        return out, 1
    den = math.lcm(*(x.denominator for row in inv for x in row))
    out = np.array([[int(x * den) for x in row] for row in inv], np.int64)
    return out, den


def _transform_factor(mat: np.ndarray, rows: int, cols: int, left: np.ndarray,
                      right: np.ndarray) -> np.ndarray:
    """Each column of ``mat`` as a ``rows×cols`` matrix X ↦ ``left @ X @ right``."""
    r = mat.shape[1]
    x = mat.reshape(rows, cols, r).transpose(2, 0, 1)  # (R, rows, cols)
    y = np.einsum("ab,rbc,cd->rad", left.astype(object), x.astype(object), right.astype(object))
    return np.asarray(y, dtype=object).transpose(1, 2, 0).reshape(rows * cols, r)


def change_basis(scheme: Scheme, p_mat: np.ndarray, q_mat: np.ndarray,
                 r_mat: np.ndarray) -> Scheme:
    """Basis change by invertible integer matrices ``P (n,n)``, ``Q (m,m)``, ``R (p,p)``.

    From ``tr(ABC) = tr((PAQ⁻¹)(QBR⁻¹)(RCP⁻¹))``: the factors become
    ``U' = Pᵀ U Q⁻ᵀ``, ``V' = Qᵀ V R⁻ᵀ``, ``W' = Rᵀ W P⁻ᵀ`` (each column read as a
    matrix).  Unimodular matrices keep integer schemes integral; other invertible
    integer matrices give exact rational schemes over Z; over Z2 the matrices
    must be invertible mod 2.
    """
    if scheme.shape is None:
        raise ValueError("a basis change needs a matmul scheme (a shape)")
    if scheme.imag is not None or scheme.ring == "Z3":
        raise ValueError(f"basis changes are for real Z/Q and Z2 schemes, not {scheme!r}")
    n, m, p = scheme.shape
    mats = [np.asarray(x, dtype=np.int64) for x in (p_mat, q_mat, r_mat)]
    for mat, size, name in zip(mats, (n, m, p), "PQR"):
        if mat.shape != (size, size):
            raise ValueError(f"{name} must be {size}×{size} for ⟨{n},{m},{p}⟩, got {mat.shape}")
    (pi, pd), (qi, qd), (ri, rd) = (_int_inverse(x, scheme.ring) for x in mats)
    pm, qm, rm = mats
    du, dv, dw = scheme.denominators
    u2 = _transform_factor(scheme.u, n, m, pm.T, qi.T)
    v2 = _transform_factor(scheme.v, m, p, qm.T, ri.T)
    w2 = _transform_factor(scheme.w, p, n, rm.T, pi.T)
    return Scheme(u2, v2, w2, ring=scheme.ring, shape=scheme.shape,
                  denominators=(du * qd, dv * rd, dw * pd))


def kron(a: Scheme, b: Scheme) -> Scheme:
    """Tensor product ⟨n1,m1,p1⟩ ⊗ ⟨n2,m2,p2⟩ → ⟨n1n2, m1m2, p1p2⟩ of rank ``R1·R2``.

    Term ``(r1, r2)`` has factor matrices ``U1 ⊗ U2`` (Kronecker), so the big
    matrix's row ``i1*n2+i2`` and column ``j1*m2+j2`` — blocks of blocks.
    """
    if a.shape is None or b.shape is None:
        raise ValueError("the tensor product needs two matmul schemes (shapes)")
    if a.ring != b.ring:
        raise ValueError(f"cannot multiply a {a.ring} scheme by a {b.ring} scheme")
    if a.imag is not None or b.imag is not None:
        raise ValueError("the tensor product of Gaussian schemes is not supported")
    (n1, m1, p1), (n2, m2, p2) = a.shape, b.shape

    def kr(x: np.ndarray, rows1: int, cols1: int, y: np.ndarray, rows2: int, cols2: int) -> np.ndarray:
        r1, r2 = x.shape[1], y.shape[1]
        xm = x.reshape(rows1, cols1, r1)
        ym = y.reshape(rows2, cols2, r2)
        big = np.einsum("acr,bds->abcdrs", xm.astype(object), ym.astype(object))
        return big.reshape(rows1 * rows2 * cols1 * cols2, r1 * r2)

    u = kr(a.u, n1, m1, b.u, n2, m2)
    v = kr(a.v, m1, p1, b.v, m2, p2)
    w = kr(a.w, p1, n1, b.w, p2, n2)
    dens = tuple(x * y for x, y in zip(a.denominators, b.denominators))
    return Scheme(u, v, w, ring=a.ring, shape=(n1 * n2, m1 * m2, p1 * p2), denominators=dens)


def permute_terms(scheme: Scheme, order: Sequence[int]) -> Scheme:
    """The same scheme with its terms in ``order`` (a permutation of ``range(R)``)."""
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(scheme.rank)):
        raise ValueError("order must be a permutation of the terms")
    return scheme.take_terms(order)


def drop_zero_terms(scheme: Scheme) -> Scheme:
    """The scheme without terms whose product is identically zero."""
    im = scheme.imag or (scheme.u * 0, scheme.v * 0, scheme.w * 0)
    keep = np.flatnonzero((np.any(scheme.u, 0) | np.any(im[0], 0))
                          & (np.any(scheme.v, 0) | np.any(im[1], 0))
                          & (np.any(scheme.w, 0) | np.any(im[2], 0)))
    return scheme.take_terms(keep)


# ------------------------------------------------------------ canonical form
def _primitive(vec: Sequence[int]) -> tuple[tuple[int, ...], int]:
    """``vec = scale · prim`` with ``prim`` integer, gcd 1 and first non-zero positive."""
    g = math.gcd(*vec)
    if g == 0:
        return tuple(vec), 0
    first = next(x for x in vec if x != 0)
    if first < 0:
        g = -g
    return tuple(x // g for x in vec), g


def canonical_form(scheme: Scheme) -> tuple:
    """A hashable key equal for schemes that differ only by term order and by
    scalars moved between the three factors of a term (signs included).

    Over Z each term's u and v are made primitive with a positive first entry
    and w carries the product of the removed scalars (an exact rational); over
    Z2 only the order is free.  Terms are then sorted.  Shape and ring are part
    of the key.
    """
    terms = []
    du, dv, dw = scheme.denominators
    if scheme.imag is not None:
        # Gaussian schemes: only the order of the terms is free.
        parts = (scheme.u, scheme.imag[0], scheme.v, scheme.imag[1], scheme.w, scheme.imag[2])
        terms = sorted(tuple(tuple(int(x) for x in m[:, r]) for m in parts)
                       for r in range(scheme.rank))
        return ((scheme.ring + "(i)", scheme.shape if scheme.shape is not None else scheme.sizes,
                 scheme.denominators), tuple(terms))
    for r in range(scheme.rank):
        cu = [int(x) for x in scheme.u[:, r]]
        cv = [int(x) for x in scheme.v[:, r]]
        cw = [int(x) for x in scheme.w[:, r]]
        if modulus(scheme.ring):
            terms.append((tuple(cu), tuple(cv), tuple(cw)))
            continue
        pu, su = _primitive(cu)
        pv, sv = _primitive(cv)
        scale = Fraction(su * sv, du * dv * dw)
        wv = tuple(Fraction(x) * scale for x in cw)
        if su == 0 or sv == 0 or not any(wv):
            continue  # a zero term contributes nothing
        terms.append((pu, pv, tuple((x.numerator, x.denominator) for x in wv)))
    terms.sort()
    head = (scheme.ring, scheme.shape if scheme.shape is not None else scheme.sizes)
    return (head, tuple(terms))


def canonical_hash(scheme: Scheme) -> str:
    """A short stable hex digest of :func:`canonical_form` (for stores and file names)."""
    import hashlib

    return hashlib.sha256(repr(canonical_form(scheme)).encode()).hexdigest()[:16]


# ------------------------------------------------------------------- counts
def addition_count(scheme: Scheme) -> int:
    """Additions of the straightforward evaluation (no shared subexpressions).

    ``Σ_r (nnz(u_r) − 1) + (nnz(v_r) − 1)`` to form the operands, plus
    ``Σ_rows (nnz(w_row) − 1)`` to accumulate the outputs.
    """
    def operand(mat: np.ndarray) -> int:
        nnz = np.count_nonzero(mat, axis=0)
        return int(np.maximum(nnz - 1, 0).sum())

    out_nnz = np.count_nonzero(scheme.w, axis=1)
    return operand(scheme.u) + operand(scheme.v) + int(np.maximum(out_nnz - 1, 0).sum())


def slice_rank_bound(tensor: np.ndarray) -> int:
    """An upper bound on a tensor's rank: the smallest, over its three
    directions, of the sum of the ranks of its slices (over Q)."""
    t = np.asarray(tensor)
    best = None
    for axis in range(3):
        total = 0
        for s in np.moveaxis(t, axis, 0):
            if np.any(s):
                total += int(np.linalg.matrix_rank(s.astype(np.float64)))
        best = total if best is None else min(best, total)
    return int(best or 0)


def _fibers(t: np.ndarray, axis: int) -> np.ndarray:
    """``(k, 2)``: the indices of the non-zero fibers of ``t`` along ``axis`` (the other two modes)."""
    return np.argwhere(np.any(np.moveaxis(t, axis, 2) != 0, axis=2))


def fiber_count(tensor: np.ndarray) -> int:
    """The rank of :func:`fiber_terms`'s decomposition: the fewest non-zero fibers
    over the three directions (an upper bound on the rank)."""
    t = np.asarray(tensor)
    return min(len(_fibers(t, axis)) for axis in range(3))


def fiber_terms(tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An exact decomposition with one term per non-zero fiber, along whichever
    of the three directions has the fewest: ``(u (S1, k), v (S2, k), w (S3, k))``
    with ``Σ_r u[:, r] ⊗ v[:, r] ⊗ w[:, r] = tensor (S1, S2, S3)``.  Two factors
    of each term are unit vectors, the third is the fiber."""
    t = np.asarray(tensor, np.int64)
    axis, idx = min(((a, _fibers(t, a)) for a in range(3)), key=lambda x: len(x[1]))
    moved = np.moveaxis(t, axis, 2)
    fibers = moved[idx[:, 0], idx[:, 1]] if len(idx) else np.zeros((0, t.shape[axis]), np.int64)
    others = [a for a in range(3) if a != axis]                # the two unit-vector modes, in order
    factors: list[np.ndarray] = [np.zeros((n, len(idx)), np.int64) for n in t.shape]
    cols = np.arange(len(idx))
    factors[others[0]][idx[:, 0], cols] = 1
    factors[others[1]][idx[:, 1], cols] = 1
    factors[axis] = fibers.T.copy()
    return factors[0], factors[1], factors[2]


def iter_columns(scheme: Scheme) -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The R terms as ``(u_r (S1,), v_r (S2,), w_r (S3,))`` integer numerators."""
    for r in range(scheme.rank):
        yield scheme.u[:, r], scheme.v[:, r], scheme.w[:, r]
