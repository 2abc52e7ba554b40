"""A tiny deterministic random number generator for the Numba kernels.

xorshift64* (Vigna 2016): the state is one ``uint64`` in a ``(1,)`` array, so a
walk's whole future is fixed by its seed and the kernels stay free of Numba's
global generator.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M = np.uint64(0x2545F4914F6CDD1D)
_S12, _S25, _S27, _S33 = np.uint64(12), np.uint64(25), np.uint64(27), np.uint64(33)


def make_rng(seed: int) -> np.ndarray:
    """The generator state for ``seed``: ``uint64 (1,)``, never zero."""
    x = (int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64
    for _ in range(4):  # splitmix-like scrambling so nearby seeds differ everywhere
        x ^= x >> 31
        x = (x * 0xBF58476D1CE4E5B9) % 2**64
        x ^= x >> 29
    return np.array([x or 1], dtype=np.uint64)


@njit(cache=True, inline="always")
def next_u64(rng: np.ndarray) -> np.uint64:
    """The next 64-bit output; advances ``rng`` in place."""
    x = rng[0]
    x ^= x >> _S12
    x ^= x << _S25
    x ^= x >> _S27
    rng[0] = x
    return x * _M


@njit(cache=True, inline="always")
def randint(rng: np.ndarray, n: int) -> int:
    """A uniform integer in ``[0, n)`` (``n ≥ 1``; bias below 2**-31 for small n)."""
    return np.int64((next_u64(rng) >> _S33) % np.uint64(n))
