"""Hensel lifting of Z2 schemes to Z (or to Q with odd denominators).

A scheme ``(U, V, W)`` valid mod 2 is lifted to one valid mod 2^k, k = 2, 3, …,
by solving the linearised Brent equations mod 2 at each step: with
``E = T − Σ_r U_r⊗V_r⊗W_r ≡ 0 (mod 2^k)``, corrections ``(dU, dV, dW)`` with

    Σ_r dU_r⊗V_r⊗W_r + U_r⊗dV_r⊗W_r + U_r⊗V_r⊗dW_r ≡ E / 2^k   (mod 2)

make ``(U + 2^k dU, …)`` valid mod 2^(k+1).  The matrix of this system depends
only on the scheme mod 2, so it is eliminated once.  Free variables are set to
0, which fixes those coordinates at their 0/1 values; the coordinates that are
zero mod 2 come last in the elimination order, so they are the ones kept free
(the lift keeps the scheme's support when it can).  After ``bits`` steps each
coordinate is read back as a fraction a/b (rational reconstruction) and the
result is verified exactly over Z; only a verified scheme is returned.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import tensors
from ..tensors import Scheme
from . import gf2


@dataclasses.dataclass(frozen=True)
class LiftResult:
    """The outcome of lifting one Z2 scheme.

    Attributes:
      scheme: the lifted scheme, verified over Z (rational when some
        coefficient is a fraction), or ``None``.
      reason: why it failed (empty when it lifted).
      level: the highest power of 2 reached (the scheme is valid mod 2^level).
    """

    scheme: Scheme | None
    reason: str
    level: int

    @property
    def lifted(self) -> bool:
        return self.scheme is not None


def jacobian_mod2(scheme: Scheme) -> np.ndarray:
    """The linearised Brent equations mod 2: ``bool (S1·S2·S3, R·(S1+S2+S3))``.

    Unknowns are ordered ``dU`` (row-major ``(S1, R)``), then ``dV``, then ``dW``.
    """
    u, v, w = (np.asarray(m) % 2 for m in (scheme.u, scheme.v, scheme.w))
    s1, s2, s3 = scheme.sizes
    r = scheme.rank
    jac = np.zeros((s1, s2, s3, r * (s1 + s2 + s3)), dtype=bool)
    for t in range(r):
        vw = np.outer(v[:, t], w[:, t]).astype(bool)
        uw = np.outer(u[:, t], w[:, t]).astype(bool)
        uv = np.outer(u[:, t], v[:, t]).astype(bool)
        for a in range(s1):
            jac[a, :, :, a * r + t] = vw
        for b in range(s2):
            jac[:, b, :, s1 * r + b * r + t] = uw
        for c in range(s3):
            jac[:, :, c, (s1 + s2) * r + c * r + t] = uv
    return jac.reshape(s1 * s2 * s3, -1)


def _order(scheme: Scheme) -> np.ndarray:
    """Column order for the elimination: coordinates that are 1 mod 2 first
    (solved for), those that are 0 last (kept free, so they stay 0)."""
    flat = np.concatenate([np.asarray(m).ravel() % 2 for m in (scheme.u, scheme.v, scheme.w)])
    return np.concatenate([np.flatnonzero(flat == 1), np.flatnonzero(flat == 0)])


def _residual_mod(u: np.ndarray, v: np.ndarray, w: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``T − Σ_r u_r⊗v_r⊗w_r`` modulo 2^64 (int64 arithmetic wraps), ``(S1, S2, S3)``."""
    with np.errstate(over="ignore"):
        return target - np.einsum("ar,br,cr->abc", u, v, w)


def rational_reconstruct(x: int, modulus: int, bound: int) -> tuple[int, int] | None:
    """``(a, b)`` with ``a ≡ b·x (mod modulus)``, ``|a| ≤ bound``, ``0 < b ≤ bound``,
    b odd and ``gcd(a, b) = 1``; ``None`` when there is none (extended Euclid)."""
    r0, r1 = modulus, x % modulus
    s0, s1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    a, b = r1, s1
    if b < 0:
        a, b = -a, -b
    if b == 0 or b > bound or b % 2 == 0 or math.gcd(a, b) != 1:
        return None
    if (a - b * x) % modulus != 0:
        return None
    return a, b


def lift(scheme: Scheme, bits: int = 40) -> LiftResult:
    """Lift a Z2 scheme to Z: Hensel steps up to 2^bits, rational reconstruction,
    exact verification.  ``bits`` in [4, 62]; coefficients are recovered when
    numerator and denominator are below ``2^(bits/2 − 1)``."""
    if not 4 <= bits <= 62:
        raise ValueError("bits must be between 4 and 62")
    if not scheme.is_integral:
        raise ValueError("only schemes with integer coefficients can be lifted")
    if not tensors.verify(scheme, "Z2").valid:
        raise ValueError("the scheme is not valid over Z2, so it cannot be lifted")
    base = Scheme(np.asarray(scheme.u) % 2, np.asarray(scheme.v) % 2, np.asarray(scheme.w) % 2,
                  ring="Z2", shape=scheme.shape, target=scheme.target)
    if tensors.verify(base.replace(ring="Z"), "Q").valid:
        return LiftResult(base.replace(ring="Z"), "", bits)
    s1, s2, s3 = base.sizes
    r = base.rank
    order = _order(base)
    elim = gf2.eliminate(jacobian_mod2(base)[:, order])
    target = base.target_tensor().astype(np.int64)
    x = np.concatenate([np.asarray(m, dtype=np.int64).ravel() for m in (base.u, base.v, base.w)])
    nu, nv = s1 * r, s2 * r
    for k in range(1, bits):
        u = x[:nu].reshape(s1, r)
        v = x[nu:nu + nv].reshape(s2, r)
        w = x[nu + nv:].reshape(s3, r)
        res = _residual_mod(u, v, w, target)
        # res ≡ 0 mod 2^k; the next bit is the right-hand side.
        rhs = ((res >> k) & 1).astype(bool).ravel()
        if not rhs.any():
            continue
        sol = elim.solve(rhs)
        if sol is None:
            return LiftResult(None, f"the linearised equations have no solution at 2^{k + 1}", k)
        step = np.zeros_like(x)
        step[order] = sol.astype(np.int64)
        with np.errstate(over="ignore"):
            x = x + (step << k)
    modulus = 1 << bits
    bound = math.isqrt(modulus // 2) - 1
    fracs = []
    for value in x.tolist():
        rec = rational_reconstruct(int(value) % modulus, modulus, bound)
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
    check = tensors.verify(lifted, "Q")
    if not check.valid:
        return LiftResult(None, "the reconstructed scheme is not valid over Z", bits)
    if not tensors.verify(lifted, "Z2").valid:  # it must reduce to a Z2 scheme again
        return LiftResult(None, "the reconstructed scheme does not reduce to a Z2 scheme", bits)
    return LiftResult(lifted, "", bits)


def lift_any(schemes, bits: int = 40) -> tuple[Scheme | None, list[LiftResult]]:
    """Lift each scheme in turn; the first that lifts (integral ones preferred
    over rational ones) and every attempt's result."""
    results = []
    rational = None
    for s in schemes:
        res = lift(s, bits)
        results.append(res)
        if res.scheme is not None:
            if res.scheme.is_integral:
                return res.scheme, results
            rational = rational or res.scheme
    return rational, results
