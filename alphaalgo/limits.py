"""The one input guard: limits on what a file or an argument may ask for, checked
before anything is allocated.

Every reader and every size argument goes through these functions; each raises
``ValueError`` whose message names the limit, so callers turn it into their own
one-line error (``FormatError`` for files, exit status 2 for the command line).

The limits are generous for real schemes (the public collections go up to
⟨16,16,16⟩ with ranks near 2,400) and small against the memory of a 2-core,
24 GiB machine: the largest tensor verification may build is 2**24 entries
(⟨16,16,16⟩, about 130 MB in int64).
"""

from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

#: Largest matrix dimension n, m or p a scheme may name.
MAX_DIM = 64
#: Largest number of entries of a target tensor (n·m)·(m·p)·(p·n).
MAX_TENSOR_ENTRIES = 2**24
#: Largest rank a scheme may claim.
MAX_RANK = 65_536
#: Largest number of entries of one factor matrix (size × rank).
MAX_FACTOR_ENTRIES = 2**24
#: Largest file a reader reads, and the largest decompressed member of a zip archive.
MAX_FILE_BYTES = 64 * 2**20
#: Largest Python source parsed for literal arrays (its syntax tree costs ~50× its size).
MAX_SOURCE_BYTES = 16 * 2**20
#: Deepest nesting of brackets a JSON or Python-literal reader accepts.
MAX_NESTING = 64
#: Most decimal digits of one coefficient (numerator or denominator).
MAX_DIGITS = 18
#: Largest |coefficient| numerator or denominator (the int64 arithmetic's headroom).
MAX_COEFFICIENT = 2**62
#: Most levels of recursion a kernel may be compiled with.
MAX_LEVELS = 6
#: Largest matrix side a benchmark or export measurement may ask for.
MAX_MATRIX_SIDE = 65_536


def check_shape(shape: Sequence[int], what: str = "shape") -> tuple[int, int, int]:
    """``(n, m, p)`` if every dimension is in ``1..MAX_DIM`` and the tensor fits."""
    if len(shape) != 3:
        raise ValueError(f"{what} must have three dimensions, got {len(shape)}")
    dims = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"{what} must be three positive integers, got {list(shape)}")
        if d > MAX_DIM:
            raise ValueError(f"{what} {list(shape)}: dimension {d} exceeds the limit {MAX_DIM}")
        dims.append(int(d))
    n, m, p = dims
    check_sizes((n * m, m * p, p * n), what=f"{what} {dims}")
    return n, m, p  # type: ignore[return-value]


def check_sizes(sizes: Sequence[int], what: str = "target") -> tuple[int, int, int]:
    """Tensor sizes ``(S1, S2, S3)`` whose product stays within ``MAX_TENSOR_ENTRIES``."""
    if len(sizes) != 3:
        raise ValueError(f"{what} must have three sizes, got {len(sizes)}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise ValueError(f"{what}: sizes must be positive integers, got {list(sizes)}")
    total = math.prod(sizes)
    if total > MAX_TENSOR_ENTRIES:
        raise ValueError(f"{what}: a tensor of {total:,} entries exceeds the limit "
                         f"{MAX_TENSOR_ENTRIES:,}")
    return tuple(int(s) for s in sizes)  # type: ignore[return-value]


def check_rank(rank: int, sizes: Iterable[int] = ()) -> int:
    """A rank in ``0..MAX_RANK`` whose factor matrices stay within ``MAX_FACTOR_ENTRIES``."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
        raise ValueError(f"rank must be a non-negative integer, got {rank!r}")
    if rank > MAX_RANK:
        raise ValueError(f"rank {rank:,} exceeds the limit {MAX_RANK:,}")
    for s in sizes:
        if s * rank > MAX_FACTOR_ENTRIES:
            raise ValueError(f"a factor matrix of {s}×{rank} exceeds the limit of "
                             f"{MAX_FACTOR_ENTRIES:,} entries")
    return rank


def check_index(index: int, what: str = "index") -> int:
    """A 1-based matrix index in ``1..MAX_DIM``."""
    if index < 1:
        raise ValueError(f"{what}: indices are 1-based, got {index}")
    if index > MAX_DIM:
        raise ValueError(f"{what}: index {index} exceeds the limit {MAX_DIM}")
    return index


def check_digits(text: str, what: str = "number") -> str:
    """A run of digits no longer than ``MAX_DIGITS``."""
    if len(text) > MAX_DIGITS:
        raise ValueError(f"{what} {text[:12]}… has {len(text)} digits; the limit is {MAX_DIGITS}")
    return text


def check_coefficient(value: int, what: str = "coefficient") -> int:
    """An integer numerator or denominator with ``|value| < MAX_COEFFICIENT``."""
    if abs(value) >= MAX_COEFFICIENT:
        raise ValueError(f"{what} {value} is too large (limit 2**62)")
    return value


def check_file_size(path: str | os.PathLike, size: int | None = None) -> int:
    """A file (or declared member) no larger than ``MAX_FILE_BYTES``."""
    size = os.path.getsize(path) if size is None else size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{size:,} bytes exceeds the limit of {MAX_FILE_BYTES:,} bytes")
    return size


def check_nesting(text: str, opening: str = "[{(", closing: str = "]})") -> None:
    """Bracket nesting of ``text`` no deeper than ``MAX_NESTING`` (strings are not skipped:
    a bracket inside a string only makes the count stricter)."""
    import numpy as np

    raw = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    steps = np.zeros(256, dtype=np.int32)
    steps[[ord(c) for c in opening]] = 1
    steps[[ord(c) for c in closing]] = -1
    if raw.size and int(np.cumsum(steps[raw]).max()) > MAX_NESTING:
        raise ValueError(f"brackets nested deeper than {MAX_NESTING}")


def check_levels(levels: int) -> int:
    """Recursion levels of a kernel in ``1..MAX_LEVELS``."""
    if levels < 1 or levels > MAX_LEVELS:
        raise ValueError(f"levels must be between 1 and {MAX_LEVELS}, got {levels}")
    return levels


def physical_memory() -> int:
    """Bytes of physical memory (a conservative 8 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_matmul_size(n: int, k: int, m: int, itemsize: int = 8, copies: int = 3,
                      what: str = "size") -> tuple[int, int, int]:
    """An ``(n×k)·(k×m)`` product whose operands, result and temporaries (``copies``
    times the three matrices) fit in half the physical memory."""
    for d in (n, k, m):
        if d < 1 or d > MAX_MATRIX_SIDE:
            raise ValueError(f"{what}: matrix sides must be between 1 and {MAX_MATRIX_SIDE:,}, "
                             f"got {n},{k},{m}")
    need = copies * itemsize * (n * k + k * m + n * m)
    have = physical_memory() // 2
    if need > have:
        raise ValueError(f"{what} {n},{k},{m} needs about {need / 2**30:.1f} GiB; "
                         f"the limit is half the memory, {have / 2**30:.1f} GiB")
    return n, k, m
