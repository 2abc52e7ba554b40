"""AlphaTensor's ``.npz`` layout.

One key per scheme, named ``"n,m,p"``; the value is a numeric array ``(3, S, R)``
(all three factor matrices of one size) or an object array of three numeric
matrices ``(u, v, w)``.  Object arrays are pickles: they are read by an
unpickler that admits numpy's array reconstruction and nothing else, and the
result must hold numeric arrays only.  Complex arrays give Gaussian schemes.

Every member is checked before it is read: its declared size against the file
limit, its compression method, encryption, and its ``.npy`` header's shape and
dtype against the limits on ranks and factor sizes.

The rings of the schemes travel in the archive's zip comment
(``alphaalgo-rings {"2,2,2": "Z2"}``), which other readers ignore, so a Z2
scheme comes back as Z2.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import limits, tensors
from ..atomic import atomic_write_bytes
from ..tensors import Scheme, Shape
from .common import FormatError, SchemeRecord, held_in, infer_shape, rational_matrix

_RING_COMMENT = b"alphaalgo-rings "

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _NumericArrayUnpickler(pickle.Unpickler):
    """Admits numpy's array reconstruction and nothing else: no other global is
    ever looked up, so a crafted pickle cannot name a function to call."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numeric arrays are admitted") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing persistent ids")


def _check_member(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise ValueError("member is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"unsupported zip compression method {info.compress_type}")
    limits.check_file_size("", info.file_size)


def _read_npy(data: bytes) -> np.ndarray:
    """One ``.npy`` member: numeric arrays directly (after a header check),
    object arrays through the restricted unpickler; the result holds numeric
    arrays only."""
    fh = io.BytesIO(data)
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    count = math.prod(shape)
    if count > 3 * limits.MAX_FACTOR_ENTRIES:
        raise ValueError(f"array of shape {shape} exceeds the limit on factor sizes")
    if not dtype.hasobject:
        if dtype.kind not in "biufc":
            raise ValueError(f"array of dtype {dtype} does not hold numbers")
        if count * dtype.itemsize > len(data):
            raise ValueError(f"header claims {count * dtype.itemsize:,} bytes, member has "
                             f"{len(data):,}")
        fh.seek(0)
        return np.lib.format.read_array(fh, allow_pickle=False)
    arr = _NumericArrayUnpickler(fh).load()
    if not isinstance(arr, np.ndarray):
        raise ValueError("object member is not an array")
    if arr.size > 16:
        raise ValueError("object array holds more than three factor matrices")
    for item in arr.ravel():
        if not isinstance(item, np.ndarray) or item.dtype.kind not in "biufc":
            raise ValueError("object array holds something other than numeric arrays")
    return arr


def _factors_from_value(value: np.ndarray) -> list[np.ndarray]:
    if value.dtype == object:
        if value.shape != (3,):
            raise ValueError(f"object array must hold three factor matrices, has shape {value.shape}")
        mats = list(value)
    else:
        if value.ndim != 3 or value.shape[0] != 3:
            raise ValueError(f"numeric array must have shape (3, S, R), has {value.shape}")
        mats = [value[0], value[1], value[2]]
    for mat in mats:
        if mat.ndim != 2:
            raise ValueError(f"each factor must be a matrix (size, rank), got shape {mat.shape}")
    return mats


def scheme_from_arrays(mats: Sequence[np.ndarray], ring: str, shape: Shape | None) -> Scheme:
    """Three numeric ``(S_i, R)`` factor matrices (integer, float or complex) → a Scheme."""
    sizes = tuple(int(m.shape[0]) for m in mats)
    this_shape = limits.check_shape(shape) if shape is not None else infer_shape(sizes)
    limits.check_rank(int(mats[0].shape[1]), sizes)
    parts = []
    for m in mats:
        if np.iscomplexobj(m):
            parts.append((rational_matrix(m.real), rational_matrix(m.imag)))
        else:
            parts.append((rational_matrix(m), None))
    imag = None
    if any(im is not None and np.any(im[0]) for _, im in parts):
        imag = []
    nums, dens = [], []
    for (re_part, im_part) in parts:
        (rn, rd) = re_part
        (inum, idn) = im_part if im_part is not None else (np.zeros_like(rn), 1)
        den = math.lcm(rd, idn)
        limits.check_coefficient(den, "denominator")
        nums.append(rn * (den // rd))
        if imag is not None:
            imag.append(inum * (den // idn))
        dens.append(den)
    return held_in(Scheme(*nums, shape=this_shape, denominators=tuple(dens),
                          imag=tuple(imag) if imag is not None else None), ring)


def _comment_rings(zf: zipfile.ZipFile) -> dict[str, str]:
    comment = zf.comment or b""
    if not comment.startswith(_RING_COMMENT):
        return {}
    try:
        rings = json.loads(comment[len(_RING_COMMENT):].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(rings, dict):
        return {}
    return {str(k): v for k, v in rings.items() if v in tensors.ARITHMETICS}


def read_npz(path: Path, ring: str | None = None, shape: Shape | None = None
             ) -> tuple[list[SchemeRecord], bool]:
    """All schemes of an AlphaTensor-style ``.npz`` and whether their rings were
    stated (by ``ring`` or by the archive's comment)."""
    try:
        limits.check_file_size(path)
        zf = zipfile.ZipFile(path)
    except ValueError as exc:
        raise FormatError(f"{path}: {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a central directory asking for a newer zip version
        raise FormatError(f"{path}: not a readable .npz archive ({exc})") from None
    records = []
    with zf:
        stated = _comment_rings(zf)
        infos = [i for i in zf.infolist() if i.filename.endswith(".npy")]
        if not infos:
            raise FormatError(f"{path}: holds no arrays")
        if len(infos) > 10_000:
            raise FormatError(f"{path}: holds {len(infos):,} arrays; the limit is 10,000")
        total = 0
        for info in infos:
            key = info.filename[:-4]
            try:
                _check_member(info)
                total += info.file_size
                limits.check_file_size("", total)
                value = _read_npy(zf.read(info))
                mats = _factors_from_value(value)
                key_shape = re.match(r"^(\d{1,3}),(\d{1,3}),(\d{1,3})", key)
                this_shape = shape
                if this_shape is None and key_shape:
                    this_shape = tuple(int(x) for x in key_shape.groups())  # type: ignore[assignment]
                scheme = scheme_from_arrays(mats, ring or stated.get(key, "Z"), this_shape)
            except (ValueError, TypeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
                    KeyError, IndexError, AttributeError, OSError, OverflowError,
                    NotImplementedError, RuntimeError, RecursionError, MemoryError,
                    ZeroDivisionError, zlib.error) as exc:
                raise FormatError(f"{path}: key {key!r}: {exc}") from None
            records.append(SchemeRecord(key, scheme, {"source": str(path), "key": key}))
    return records, ring is not None or bool(stated)


def write_npz(path: Path, records: Sequence[SchemeRecord]) -> None:
    """Write schemes in AlphaTensor's layout, atomically.  Square integral schemes
    are stored as ``(3, S, R)`` int arrays, others as object arrays of three
    matrices (float64 where a denominator is not 1, complex128 for Gaussian
    schemes).  Keys are ``"n,m,p"``, with ``"_2"``, ``"_3"`` … appended to
    repeats; the rings go in the zip comment."""
    arrays: dict[str, np.ndarray] = {}
    rings: dict[str, str] = {}
    for rec in records:
        s = rec.scheme
        if s.shape is None:
            raise FormatError(f"{path}: .npz holds matmul schemes only; {rec.name!r} has an "
                              "explicit target (use .json)")
        key = ",".join(str(d) for d in s.shape)
        base, k = key, 2
        while key in arrays:
            key, k = f"{base}_{k}", k + 1
        mats = [m if d == 1 else m / d for m, d in zip((s.u, s.v, s.w), s.denominators)]
        if s.imag is not None:
            mats = [m + 1j * (im / d) for m, im, d in zip(mats, s.imag, s.denominators)]
        if s.is_integral and len({m.shape for m in mats}) == 1:
            arrays[key] = np.stack(mats).astype(np.int64)
        else:
            obj = np.empty(3, dtype=object)
            for i, m in enumerate(mats):
                obj[i] = np.asarray(m)
            arrays[key] = obj
        rings[key] = s.ring
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = _RING_COMMENT + json.dumps(rings).encode("utf-8")
    atomic_write_bytes(path, buf.getvalue())
