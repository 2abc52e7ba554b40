"""Hensel lifting of Z2 and Z3 schemes to Z (or to Q with denominators prime to p).

A scheme ``(U, V, W)`` valid mod p (p = 2 or 3) is lifted to one valid mod p^k,
k = 2, 3, …, by solving the linearised Brent equations mod p at each step: with
``E = T − Σ_r U_r⊗V_r⊗W_r ≡ 0 (mod p^k)``, corrections ``(dU, dV, dW)`` with

    Σ_r dU_r⊗V_r⊗W_r + U_r⊗dV_r⊗W_r + U_r⊗V_r⊗dW_r ≡ E / p^k   (mod p)

make ``(U + p^k dU, …)`` valid mod p^(k+1).  The matrix of this system depends
only on the scheme mod p, so it is eliminated once (:mod:`.gf2`, :mod:`.gf3`).
Free variables are set to 0, which fixes those coordinates at their start
values (0/1 mod 2, −1/0/1 mod 3); the coordinates that are zero mod p come
last in the elimination order, so they are the ones kept free (the lift keeps
the scheme's support when it can).  After the last step each coordinate is
read back as a fraction a/b (rational reconstruction) and the result is
verified exactly over Z; only a verified scheme is returned.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import tensors
from ..tensors import Scheme
from . import gf2, gf3

#: Hensel steps by default: mod 2^40, and mod 3^17 (the largest power whose
#: residuals stay exact in int64, see :func:`_residual_mod`).
LEVELS = {2: 40, 3: 17}


@dataclasses.dataclass(frozen=True)
class LiftResult:
    """The outcome of lifting one Z2 or Z3 scheme.

    Attributes:
      scheme: the lifted scheme, verified over Z (rational when some
        coefficient is a fraction), or ``None``.
      reason: why it failed (empty when it lifted).
      level: the highest power of p reached (the scheme is valid mod p^level).
    """

    scheme: Scheme | None
    reason: str
    level: int

    @property
    def lifted(self) -> bool:
        return self.scheme is not None


def jacobian(scheme: Scheme, prime: int = 2) -> np.ndarray:
    """The linearised Brent equations mod ``prime``: ``int8 (S1·S2·S3, R·(S1+S2+S3))``,
    entries in [0, prime).

    Unknowns are ordered ``dU`` (row-major ``(S1, R)``), then ``dV``, then ``dW``.
    """
    u, v, w = (np.asarray(m, dtype=np.int64) % prime for m in (scheme.u, scheme.v, scheme.w))
    s1, s2, s3 = scheme.sizes
    r = scheme.rank
    jac = np.zeros((s1, s2, s3, r * (s1 + s2 + s3)), dtype=np.int8)
    for t in range(r):
        vw = np.outer(v[:, t], w[:, t]) % prime
        uw = np.outer(u[:, t], w[:, t]) % prime
        uv = np.outer(u[:, t], v[:, t]) % prime
        for a in range(s1):
            jac[a, :, :, a * r + t] = vw
        for b in range(s2):
            jac[:, b, :, s1 * r + b * r + t] = uw
        for c in range(s3):
            jac[:, :, c, (s1 + s2) * r + c * r + t] = uv
    return jac.reshape(s1 * s2 * s3, -1)


def _order(scheme: Scheme, prime: int) -> np.ndarray:
    """Column order for the elimination: coordinates non-zero mod p first
    (solved for), those that are 0 last (kept free, so they stay 0)."""
    flat = np.concatenate([np.asarray(m).ravel() % prime
                           for m in (scheme.u, scheme.v, scheme.w)])
    return np.concatenate([np.flatnonzero(flat != 0), np.flatnonzero(flat == 0)])


def _residual_mod(u: np.ndarray, v: np.ndarray, w: np.ndarray, target: np.ndarray,
                  modulus: int | None = None) -> np.ndarray:
    """``T − Σ_r u_r⊗v_r⊗w_r``, ``(S1, S2, S3)``: modulo 2^64 when ``modulus`` is
    None (int64 arithmetic wraps, exact for powers of 2), else reduced into
    ``[0, modulus)`` (exact while ``R·modulus² < 2^63``; ``u, v, w`` in ``[0, modulus)``)."""
    if modulus is None:
        with np.errstate(over="ignore"):
            return target - np.einsum("ar,br,cr->abc", u, v, w)
    vw = np.einsum("br,cr->bcr", v, w) % modulus
    return (target - np.einsum("ar,bcr->abc", u, vw) % modulus) % modulus


def rational_reconstruct(x: int, modulus: int, bound: int,
                         prime: int = 2) -> tuple[int, int] | None:
    """``(a, b)`` with ``a ≡ b·x (mod modulus)``, ``|a| ≤ bound``, ``0 < b ≤ bound``,
    b prime to ``prime`` and ``gcd(a, b) = 1``; ``None`` when there is none
    (extended Euclid)."""
    r0, r1 = modulus, x % modulus
    s0, s1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    a, b = r1, s1
    if b < 0:
        a, b = -a, -b
    if b == 0 or b > bound or b % prime == 0 or math.gcd(a, b) != 1:
        return None
    if (a - b * x) % modulus != 0:
        return None
    return a, b


def lift(scheme: Scheme, bits: int | None = None, prime: int = 2) -> LiftResult:
    """Lift a Z2 (``prime=2``) or Z3 (``prime=3``) scheme to Z: Hensel steps up to
    ``prime^bits``, rational reconstruction, exact verification.  ``bits``
    (default :data:`LEVELS`) in [4, 62] for 2 and [4, 17] for 3; coefficients
    are recovered when numerator and denominator are below ``√(prime^bits / 2)``."""
    if prime not in LEVELS:
        raise ValueError("only Z2 and Z3 schemes can be lifted (prime 2 or 3)")
    bits = LEVELS[prime] if bits is None else int(bits)
    top = 62 if prime == 2 else LEVELS[3]
    if not 4 <= bits <= top:
        raise ValueError(f"bits must be between 4 and {top} for prime {prime}")
    ring = f"Z{prime}"
    if not scheme.is_integral:
        raise ValueError("only schemes with integer coefficients can be lifted")
    if not tensors.verify(scheme, ring).valid:
        raise ValueError(f"the scheme is not valid over {ring}, so it cannot be lifted")
    # the start: 0/1 mod 2, −1/0/1 mod 3
    mats = [tensors.reduce_mod(np.asarray(m, dtype=np.int64), prime)
            for m in (scheme.u, scheme.v, scheme.w)]
    base = Scheme(*mats, ring=ring, shape=scheme.shape, target=scheme.target)
    if tensors.verify(base.replace(ring="Z"), "Q").valid:
        return LiftResult(base.replace(ring="Z"), "", bits)
    s1, s2, s3 = base.sizes
    r = base.rank
    while prime == 3 and bits > 4 and r * 3 ** (2 * bits) >= 2**63:
        bits -= 1  # mod 3^bits the residuals must stay exact in int64 (rank above ~550)
    order = _order(base, prime)
    jac = jacobian(base, prime)[:, order]
    elim = gf2.eliminate(jac.astype(bool)) if prime == 2 else gf3.eliminate(jac)
    target = base.target_tensor().astype(np.int64)
    modulus = prime ** bits
    wrap = None if prime == 2 else modulus  # mod 2: int64 wraps; mod 3: reduce
    x = np.concatenate([np.asarray(m, dtype=np.int64).ravel() for m in (base.u, base.v, base.w)])
    if wrap is not None:
        x %= modulus
        target %= modulus
    nu, nv = s1 * r, s2 * r
    for k in range(1, bits):
        u = x[:nu].reshape(s1, r)
        v = x[nu:nu + nv].reshape(s2, r)
        w = x[nu + nv:].reshape(s3, r)
        res = _residual_mod(u, v, w, target, wrap)
        # res ≡ 0 mod p^k; the next digit is the right-hand side.
        rhs = ((res >> k) & 1).astype(bool).ravel() if prime == 2 else \
            ((res // prime ** k) % prime).ravel()
        if not rhs.any():
            continue
        sol = elim.solve(rhs)
        if sol is None:
            return LiftResult(None, f"the linearised equations have no solution at "
                              f"{prime}^{k + 1}", k)
        step = np.zeros_like(x)
        step[order] = sol.astype(np.int64)
        with np.errstate(over="ignore"):
            x = x + step * prime ** k
        if wrap is not None:
            x %= modulus
    bound = math.isqrt(modulus // 2) - 1
    fracs = []
    for value in x.tolist():
        rec = rational_reconstruct(int(value) % modulus, modulus, bound, prime)
        if rec is None:
            return LiftResult(None, "rational reconstruction failed (coefficients too large "
                              "or not rational)", bits)
        fracs.append(rec)
    mats, dens = [], []
    for lo, hi, rows in ((0, nu, s1), (nu, nu + nv, s2), (nu + nv, len(x), s3)):
        part = fracs[lo:hi]
        den = math.lcm(*(b for _, b in part)) if part else 1
        mats.append(np.array([a * (den // b) for a, b in part], dtype=np.int64).reshape(rows, r))
        dens.append(den)
    lifted = Scheme(mats[0], mats[1], mats[2], ring="Z", shape=base.shape,
                    denominators=tuple(dens), target=base.target)
    if not lifted.is_integral:
        lifted = integral_form(lifted) or lifted
    check = tensors.verify(lifted, "Q")
    if not check.valid:
        return LiftResult(None, "the reconstructed scheme is not valid over Z", bits)
    if not tensors.verify(lifted, ring).valid:  # it must reduce to the start's ring again
        return LiftResult(None, f"the reconstructed scheme does not reduce to a {ring} "
                          "scheme", bits)
    return LiftResult(lifted, "", bits)


def integral_form(scheme: Scheme) -> Scheme | None:
    """The same terms with integer factors, or ``None`` when some term needs a fraction.

    Each factor of each term is written as a rational scalar times a primitive
    integer vector; the three scalars multiply to the term's scalar, which is
    moved onto the first factor.  A lift is only determined up to such per-term
    scalings (``λu ⊗ v/λ ⊗ w``), and over Z3 the lift picks halves freely
    (2 ≡ −1 mod 3), so a rational lift is often an integer scheme rescaled.
    """
    if scheme.imag is not None:
        return None
    mats = [np.asarray(m, dtype=np.int64) for m in (scheme.u, scheme.v, scheme.w)]
    out = [m.copy() for m in mats]
    for t in range(scheme.rank):
        num, den = 1, 1
        for p in range(3):
            g = math.gcd(*(int(x) for x in mats[p][:, t])) or 1
            out[p][:, t] //= g
            num, den = num * g, den * scheme.denominators[p]
        g = math.gcd(num, den)
        if den // g != 1:
            return None
        out[0][:, t] *= num // g
    return Scheme(*out, ring="Z", shape=scheme.shape, target=scheme.target)


def lift_any(schemes, bits: int | None = None,
             prime: int = 2) -> tuple[Scheme | None, list[LiftResult]]:
    """Lift each scheme in turn; the first that lifts (integral ones preferred
    over rational ones) and every attempt's result."""
    results = []
    rational = None
    for s in schemes:
        res = lift(s, bits, prime)
        results.append(res)
        if res.scheme is not None:
            if res.scheme.is_integral:
                return res.scheme, results
            rational = rational or res.scheme
    return rational, results
