"""Schemes to and from the arrays the flip kernels walk on.

Z2: ``uint64 (3, cap)``, one bit per row of each factor (rows ≤ 64).
Z: ``int8 (3, cap, smax)``, the coefficients of each factor, padded with zeros.
ZT (Z with coefficients in {−1, 0, 1}) and Z3: ``uint64 (2, 3, cap)``, the
masks of the +1 and of the −1 (mod 3: 2) entries (rows ≤ 64).
"""

from __future__ import annotations

import numpy as np

from ..tensors import Scheme

MAX_BITS = 64


def check_searchable(scheme: Scheme, ring: str) -> None:
    """Raise ``ValueError`` when the flip kernels cannot hold ``scheme`` in ``ring``."""
    if ring not in ("Z", "Z2", "Z3"):
        raise ValueError(f"unknown ring {ring!r}; expected Z, Z2 or Z3")
    if not scheme.is_integral:
        raise ValueError("local search needs integer coefficients; this scheme has "
                         f"denominators {scheme.denominators}")
    if ring in ("Z2", "Z3") and max(scheme.sizes) > MAX_BITS:
        raise ValueError(f"local search over {ring} holds factors of at most {MAX_BITS} rows; "
                         f"this scheme has {scheme.sizes}")
    if ring == "Z" and int(scheme.max_abs_coefficient()) > 100:
        raise ValueError("local search over Z holds coefficients up to 100 in absolute value")


def masks(bits: np.ndarray) -> np.ndarray:
    """Each column of ``bits (S, R)`` (0/1, S ≤ 64) as one bit mask: ``uint64 (R,)``."""
    weights = np.left_shift(np.uint64(1), np.arange(bits.shape[0], dtype=np.uint64))
    return (np.asarray(bits).astype(np.uint64) * weights[:, None]).sum(axis=0, dtype=np.uint64)


def bits(masks_: np.ndarray, size: int) -> np.ndarray:
    """The 0/1 matrix ``int64 (size, R)`` of the bit masks ``masks_ (R,)``."""
    shifts = np.arange(size, dtype=np.uint64)
    return ((np.asarray(masks_)[None, :] >> shifts[:, None]) & np.uint64(1)).astype(np.int64)


def pack_z2(scheme: Scheme, cap: int) -> np.ndarray:
    """The factors mod 2 as bit masks: ``uint64 (3, cap)``, terms past the rank zero."""
    if cap < scheme.rank:
        raise ValueError(f"capacity {cap} is below the rank {scheme.rank}")
    out = np.zeros((3, cap), dtype=np.uint64)
    for p, mat in enumerate((scheme.u, scheme.v, scheme.w)):
        out[p, :scheme.rank] = masks(np.asarray(mat) % 2)
    return out


def unpack_z2(X: np.ndarray, rank: int, like: Scheme) -> Scheme:
    """The Z2 scheme of the first ``rank`` terms of ``X``, with ``like``'s target."""
    mats = [bits(X[p, :rank], size) for p, size in enumerate(like.sizes)]
    return Scheme(mats[0], mats[1], mats[2], ring="Z2", shape=like.shape, target=like.target)


def pack_z(scheme: Scheme, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """The integer factors: ``(X int8 (3, cap, smax), sizes int64 (3,))``."""
    if cap < scheme.rank:
        raise ValueError(f"capacity {cap} is below the rank {scheme.rank}")
    sizes = np.array(scheme.sizes, dtype=np.int64)
    out = np.zeros((3, cap, int(sizes.max())), dtype=np.int8)
    for p, mat in enumerate((scheme.u, scheme.v, scheme.w)):
        out[p, :scheme.rank, :mat.shape[0]] = np.asarray(mat).T
    return out, sizes


def unpack_z(X: np.ndarray, sizes: np.ndarray, rank: int, like: Scheme) -> Scheme:
    """The Z scheme of the first ``rank`` terms of ``X``, with ``like``'s target."""
    mats = [X[p, :rank, :int(sizes[p])].T.astype(np.int64) for p in range(3)]
    return Scheme(mats[0], mats[1], mats[2], ring="Z", shape=like.shape, target=like.target)


def pack_zt(scheme: Scheme, cap: int) -> np.ndarray:
    """The ternary factors as masks: ``uint64 (2, 3, cap)`` (``[0]`` the +1
    entries, ``[1]`` the −1 entries), terms past the rank zero.  A Z3 scheme is
    held as −1, 0, 1 already (:func:`tensors.reduce_mod`)."""
    if cap < scheme.rank:
        raise ValueError(f"capacity {cap} is below the rank {scheme.rank}")
    if int(scheme.max_abs_coefficient()) > 1 or max(scheme.sizes) > MAX_BITS:
        raise ValueError("the ternary kernels hold coefficients in {-1, 0, 1} and at most "
                         f"{MAX_BITS} rows per factor")
    out = np.zeros((2, 3, cap), dtype=np.uint64)
    for p, mat in enumerate((scheme.u, scheme.v, scheme.w)):
        mat = np.asarray(mat)
        out[0, p, :scheme.rank] = masks(mat == 1)
        out[1, p, :scheme.rank] = masks(mat == -1)
    return out


def unpack_zt(X: np.ndarray, rank: int, like: Scheme, ring: str = "Z") -> Scheme:
    """The scheme (held in ``ring``, Z or Z3) of the first ``rank`` terms of the
    masks ``X``, with ``like``'s target."""
    mats = [bits(X[0, p, :rank], size) - bits(X[1, p, :rank], size)
            for p, size in enumerate(like.sizes)]
    return Scheme(mats[0], mats[1], mats[2], ring=ring, shape=like.shape, target=like.target)
