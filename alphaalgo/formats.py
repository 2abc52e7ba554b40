"""Reading and writing scheme files, chosen by extension.

* ``.npz`` — AlphaTensor's layout: one key per scheme, named ``"n,m,p"``; the
  value is either a numeric array ``(3, S, R)`` (all three factor matrices of
  one size) or an object array of three numeric matrices ``(u, v, w)``.  Object
  arrays are pickles: they are read by an unpickler that admits numpy's array
  reconstruction and nothing else, and the result must hold numeric arrays only.
* ``.json`` — the project's own format: shape, ring, rank, the products in the
  text notation below, provenance and the verification result.  A file holds
  one scheme, or several under ``"schemes"``.
* ``.txt`` / ``.exp`` — the flip-graph text format, one product a line:
  ``(a12+a13-2*a21)*(b32+b35)*(c21+c51)``; ``a_ij``, ``b_jk`` and ``c_ki`` (C
  transposed), 1-based.  Indices above 9 are written ``a_10_3``.  Coefficients
  are integers or exact fractions (``1/2*a11``).

Errors are :class:`FormatError`, whose message names the file and the problem.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import json
import math
import os
import pickle
import re
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import tensors
from .atomic import atomic_path, atomic_write_text
from .tensors import Scheme, Shape

EXTENSIONS = (".npz", ".json", ".txt", ".exp")
JSON_FORMAT = "alphaalgo-scheme"
JSON_VERSION = 1


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


# --------------------------------------------------------------- utilities
def rational_matrix(values: np.ndarray) -> tuple[np.ndarray, int]:
    """A numeric matrix as ``(integer numerators, common positive denominator)``.

    Integers pass through.  Floats are taken as the exact rational they stand
    for: their exact binary value when that has a small denominator (AlphaTensor's
    ±0.5, ±0.125), else the nearest fraction with denominator ≤ 2**16 (a float
    written from ``1/3``).  Non-finite values raise ``ValueError``.
    """
    arr = np.asarray(values)
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64), 1
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"coefficients must be numbers, got dtype {arr.dtype}")
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
    lut = {k: f.numerator * (den // f.denominator) for k, f in fracs.items()}
    out = np.vectorize(lambda x: lut[float(x)], otypes=[np.int64])(arr)
    return out.astype(np.int64), den


def infer_shape(sizes: Sequence[int]) -> Shape:
    """``(n, m, p)`` from the factor sizes ``(n·m, m·p, p·n)``; ``ValueError`` if none fits."""
    s1, s2, s3 = (int(x) for x in sizes)
    n = math.isqrt(s1 * s3 // s2) if s2 else 0
    if n > 0 and s1 % n == 0 and s3 % n == 0:
        m, p = s1 // n, s3 // n
        if (n * m, m * p, p * n) == (s1, s2, s3):
            return (n, m, p)
    raise ValueError(f"factor sizes {(s1, s2, s3)} are not those of any matrix product ⟨n,m,p⟩")


def parse_shape(text: str) -> Shape:
    """``"n,m,p"`` (also ``nxmxp``) → ``(n, m, p)``; ``ValueError`` otherwise."""
    parts = re.split(r"[,x×]", text.strip())
    try:
        shape = tuple(int(x) for x in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or any(d < 1 for d in shape):
        raise ValueError(f"shape must be three positive integers like 2,3,4, got {text!r}")
    return shape  # type: ignore[return-value]


# --------------------------------------------------------------- notation
_MATMUL_VAR = re.compile(r"^([abc])(?:_(\d+)_(\d+)|(\d)(\d))$")
_FLAT_VAR = re.compile(r"^([xyz])_?(\d+)$")
_TERM = re.compile(r"\s*([+-]?)\s*(?:(\d+(?:/\d+)?)\s*\*\s*)?([a-z][\d_]*)\s*")
_PRODUCT = re.compile(r"^\s*\+?\s*\(([^()]*)\)\s*\*\s*\(([^()]*)\)\s*\*\s*\(([^()]*)\)\s*\+?\s*$")


def _parse_sum(text: str) -> list[tuple[Fraction, str, int, int]]:
    """``"a12-2*a21"`` → ``[(1, 'a', 1, 2), (-2, 'a', 2, 1)]`` (1-based indices;
    flat x/y/z variables give ``(coef, letter, index, 0)``)."""
    out = []
    pos = 0
    text = text.strip()
    if not text:
        raise ValueError("empty factor '()'")
    while pos < len(text):
        mt = _TERM.match(text, pos)
        if not mt or mt.end() == pos:
            raise ValueError(f"cannot read {text[pos:]!r}")
        sign, coef, var = mt.groups()
        if pos > 0 and not sign:
            raise ValueError(f"missing '+' or '-' before {var!r}")
        value = Fraction(coef) if coef else Fraction(1)
        if value == 0:
            raise ValueError(f"zero coefficient for {var!r}")
        if sign == "-":
            value = -value
        mv = _MATMUL_VAR.match(var)
        mf = _FLAT_VAR.match(var)
        if mv:
            letter = mv.group(1)
            i = int(mv.group(2) or mv.group(4))
            j = int(mv.group(3) or mv.group(5))
            if i < 1 or j < 1:
                raise ValueError(f"indices are 1-based: {var!r}")
            out.append((value, letter, i, j))
        elif mf:
            if int(mf.group(2)) < 1:
                raise ValueError(f"indices are 1-based: {var!r}")
            out.append((value, mf.group(1), int(mf.group(2)), 0))
        else:
            raise ValueError(f"unknown variable {var!r} (expected a_ij, b_jk, c_ki)")
        pos = mt.end()
    return out


def parse_products(lines: Iterable[str], ring: str = "Z", shape: Shape | None = None,
                   target: np.ndarray | None = None) -> Scheme:
    """Products in the text notation → a :class:`Scheme`.

    Blank lines and ``#`` comments are skipped.  ``shape`` is inferred from the
    largest indices when not given.  With an explicit ``target`` the factors are
    written with flat 1-based variables ``x_i``, ``y_j``, ``z_k``.
    """
    parsed = []
    for lineno, line in enumerate(lines, 1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        mp = _PRODUCT.match(body)
        if not mp:
            raise ValueError(f"line {lineno}: expected '(…)*(…)*(…)', got {body[:60]!r}")
        try:
            factors = [_parse_sum(g) for g in mp.groups()]
        except ValueError as exc:
            raise ValueError(f"line {lineno}: {exc}") from None
        for pos, (factor, letters) in enumerate(zip(factors, ("ax", "by", "cz"))):
            for _, letter, _, _ in factor:
                if letter not in letters:
                    raise ValueError(f"line {lineno}: factor {pos + 1} uses {letter!r}, "
                                     f"expected {letters[0]!r}")
        parsed.append(factors)
    if not parsed:
        raise ValueError("no products found")
    flat = any(letter in "xyz" for f in parsed for t in f for _, letter, _, _ in t)
    if flat:
        if target is None:
            raise ValueError("x/y/z variables need an explicit target tensor")
        sizes = target.shape
        idx = [lambda i, j, s=s: i - 1 for s in sizes]
    else:
        if shape is None:
            big = {"a": [0, 0], "b": [0, 0], "c": [0, 0]}
            for f in parsed:
                for t in f:
                    for _, letter, i, j in t:
                        big[letter][0] = max(big[letter][0], i)
                        big[letter][1] = max(big[letter][1], j)
            shape = (max(big["a"][0], big["c"][1]), max(big["a"][1], big["b"][0]),
                     max(big["b"][1], big["c"][0]))
        n, m, p = shape
        sizes = (n * m, m * p, p * n)
        dims = ((n, m), (m, p), (p, n))
        idx = [lambda i, j, d=d: (i - 1) * d[1] + (j - 1) if i <= d[0] and j <= d[1] else -1
               for d in dims]
    rank = len(parsed)
    entries: list[list[tuple[int, int, Fraction]]] = [[], [], []]
    for r, factors in enumerate(parsed):
        for pos, factor in enumerate(factors):
            for value, letter, i, j in factor:
                row = idx[pos](i, j)
                if not 0 <= row < sizes[pos]:
                    where = f"{letter}{i}{j or ''}"
                    raise ValueError(f"product {r + 1}: {where} is outside the "
                                     f"shape {shape if not flat else sizes}")
                entries[pos].append((row, r, value))
    nums, dens = [], []
    for pos in range(3):
        den = math.lcm(1, *(v.denominator for _, _, v in entries[pos]))
        mat = np.zeros((sizes[pos], rank), dtype=object)
        for row, r, value in entries[pos]:
            mat[row, r] += value * den
        nums.append(np.asarray([[int(x) for x in row] for row in mat], dtype=object)
                    .reshape(sizes[pos], rank))
        dens.append(den)
    if ring == "Z2":
        if dens != [1, 1, 1]:
            raise ValueError("a Z2 scheme must have integer coefficients")
        nums = [x % 2 for x in nums]
    return Scheme(*nums, ring=ring, shape=None if flat else shape,
                  denominators=tuple(dens), target=target)


def _format_coef(value: Fraction, first: bool) -> str:
    sign = "-" if value < 0 else ("" if first else "+")
    mag = abs(value)
    return sign + ("" if mag == 1 else f"{mag}*")


def format_products(scheme: Scheme) -> list[str]:
    """The scheme's products in the text notation, one string per term."""
    if scheme.shape is not None:
        n, m, p = scheme.shape
        wide = max(scheme.shape) > 9
        dims = ((n, m), (m, p), (p, n))

        def name(letter: str, pos: int, row: int) -> str:
            i, j = divmod(row, dims[pos][1])
            return f"{letter}_{i + 1}_{j + 1}" if wide else f"{letter}{i + 1}{j + 1}"
    else:
        def name(letter: str, pos: int, row: int) -> str:
            return f"{'xyz'[pos]}{row + 1}"

    lines = []
    for r in range(scheme.rank):
        groups = []
        for pos, (mat, den, letter) in enumerate(zip((scheme.u, scheme.v, scheme.w),
                                                     scheme.denominators, "abc")):
            col = mat[:, r]
            parts = []
            for row in np.flatnonzero(col):
                parts.append(_format_coef(Fraction(int(col[row]), den), not parts)
                             + name(letter, pos, int(row)))
            groups.append("(" + "".join(parts) + ")" if parts else "(0)")
        lines.append("*".join(groups))
    return lines


# ------------------------------------------------------------------- .npz
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


def _read_npy(data: bytes) -> np.ndarray:
    """One ``.npy`` member: numeric arrays directly, object arrays through the
    restricted unpickler; the result holds numeric arrays only."""
    fh = io.BytesIO(data)
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    if not dtype.hasobject:
        fh.seek(0)
        return np.lib.format.read_array(fh, allow_pickle=False)
    arr = _NumericArrayUnpickler(fh).load()
    if not isinstance(arr, np.ndarray):
        raise ValueError("object member is not an array")
    for item in arr.ravel():
        if not isinstance(item, np.ndarray) or item.dtype.kind not in "biuf":
            raise ValueError("object array holds something other than numeric arrays")
    return arr


def _factors_from_npz_value(value: np.ndarray) -> list[np.ndarray]:
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


def read_npz(path: Path, ring: str = "Z", shape: Shape | None = None) -> list[SchemeRecord]:
    """All schemes of an AlphaTensor-style ``.npz`` (see the module docstring)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{path}: not a readable .npz archive ({exc})") from None
    records = []
    with zf:
        names = [n for n in zf.namelist() if n.endswith(".npy")]
        if not names:
            raise FormatError(f"{path}: holds no arrays")
        for member in names:
            key = member[:-4]
            try:
                value = _read_npy(zf.read(member))
                mats = _factors_from_npz_value(value)
                ints = [rational_matrix(m) for m in mats]
                key_shape = re.match(r"^(\d+),(\d+),(\d+)", key)
                sizes = tuple(m.shape[0] for m in mats)
                if shape is not None:
                    this_shape = shape
                elif key_shape:
                    this_shape = tuple(int(x) for x in key_shape.groups())
                else:
                    this_shape = infer_shape(sizes)
                if ring == "Z2":
                    if any(d != 1 for _, d in ints):
                        raise ValueError("non-integer coefficient in a scheme read as Z2")
                scheme = Scheme(*(m for m, _ in ints), ring=ring, shape=this_shape,
                                denominators=tuple(d for _, d in ints))
            except (ValueError, TypeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
                    KeyError, IndexError, AttributeError, OSError) as exc:
                raise FormatError(f"{path}: key {key!r}: {exc}") from None
            records.append(SchemeRecord(key, scheme, {"source": str(path), "key": key}))
    return records


def write_npz(path: Path, records: Sequence[SchemeRecord]) -> None:
    """Write schemes in AlphaTensor's layout, atomically.  Square integral schemes
    are stored as ``(3, S, R)`` int arrays, others as object arrays of three
    matrices (float64 where a denominator is not 1).  Keys are ``"n,m,p"``, with
    ``"_2"``, ``"_3"`` … appended to repeats."""
    arrays: dict[str, np.ndarray] = {}
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
        if s.is_integral and len({m.shape for m in mats}) == 1:
            arrays[key] = np.stack(mats).astype(np.int64)
        else:
            obj = np.empty(3, dtype=object)
            for i, m in enumerate(mats):
                obj[i] = np.asarray(m)
            arrays[key] = obj
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


# ------------------------------------------------------------------- .json
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def scheme_to_json(record: SchemeRecord) -> dict:
    """The JSON object of one scheme, verified exactly on the way out."""
    s = record.scheme
    check = tensors.verify(s)
    obj: dict[str, Any] = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "name": record.name,
        "shape": list(s.shape) if s.shape is not None else None,
        "ring": s.ring,
        "rank": s.rank,
    }
    if s.shape is None:
        assert s.target is not None
        nz = np.argwhere(s.target != 0)
        obj["target"] = {"sizes": list(s.sizes),
                         "entries": [[int(a), int(b), int(c), int(s.target[a, b, c])]
                                     for a, b, c in nz]}
    obj["products"] = format_products(s)
    obj["provenance"] = dict(record.provenance)
    obj["verification"] = {"valid": check.valid, "ring": check.ring,
                           "method": "exact integer arithmetic", "checked_at": _now()}
    return obj


def scheme_from_json(obj: Any, where: str = "scheme", ring: str | None = None) -> SchemeRecord:
    """The inverse of :func:`scheme_to_json`; ``ValueError`` names what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected an object")
    if obj.get("format") != JSON_FORMAT:
        raise ValueError(f"{where}: not an {JSON_FORMAT} object (format={obj.get('format')!r})")
    if obj.get("version") != JSON_VERSION:
        raise ValueError(f"{where}: unsupported version {obj.get('version')!r}")
    for field in ("ring", "rank", "products"):
        if field not in obj:
            raise ValueError(f"{where}: missing field {field!r}")
    file_ring = obj["ring"]
    if file_ring not in tensors.RINGS:
        raise ValueError(f"{where}: unknown ring {file_ring!r}")
    products = obj["products"]
    if not isinstance(products, list) or not all(isinstance(x, str) for x in products):
        raise ValueError(f"{where}: 'products' must be a list of strings")
    if not isinstance(obj["rank"], int) or obj["rank"] != len(products):
        raise ValueError(f"{where}: rank {obj['rank']!r} does not match the "
                         f"{len(products)} products")
    target = None
    shape = obj.get("shape")
    if shape is not None:
        if (not isinstance(shape, list) or len(shape) != 3
                or not all(isinstance(d, int) and d > 0 for d in shape)):
            raise ValueError(f"{where}: shape must be three positive integers, got {shape!r}")
        shape = tuple(shape)
    else:
        tgt = obj.get("target")
        if not isinstance(tgt, dict) or "sizes" not in tgt or "entries" not in tgt:
            raise ValueError(f"{where}: needs a 'shape' or a 'target' with sizes and entries")
        target = np.zeros(tuple(int(x) for x in tgt["sizes"]), dtype=np.int64)
        for entry in tgt["entries"]:
            if (not isinstance(entry, list) or len(entry) != 4
                    or not all(isinstance(x, int) for x in entry)):
                raise ValueError(f"{where}: target entries must be [i, j, k, value] integers")
            a, b, c, val = entry
            target[a, b, c] = val
    scheme = parse_products(products, ring=ring or file_ring, shape=shape, target=target)
    return SchemeRecord(str(obj.get("name", "")), scheme, dict(obj.get("provenance") or {}))


def read_json(path: Path, ring: str | None = None) -> list[SchemeRecord]:
    """Schemes of a project ``.json`` file; the file's ring unless ``ring`` is given."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
    try:
        items = obj["schemes"] if isinstance(obj, dict) and "schemes" in obj else [obj]
        if not isinstance(items, list) or not items:
            raise ValueError("'schemes' must be a non-empty list")
        records = []
        for i, item in enumerate(items):
            rec = scheme_from_json(item, f"scheme {i + 1}" if len(items) > 1 else "scheme", ring)
            records.append(dataclasses.replace(rec, name=rec.name or path.stem))
        return records
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise FormatError(f"{path}: {exc}") from None


def write_json(path: Path, records: Sequence[SchemeRecord]) -> None:
    """Write one scheme (or several under ``"schemes"``), atomically."""
    objs = [scheme_to_json(r) for r in records]
    doc: Any = objs[0] if len(objs) == 1 else {"schemes": objs}
    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------- .txt
def read_text(path: Path, ring: str = "Z", shape: Shape | None = None) -> list[SchemeRecord]:
    """One scheme in the flip-graph text format."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
    try:
        scheme = parse_products(text.splitlines(), ring=ring, shape=shape)
    except ValueError as exc:
        raise FormatError(f"{path}: {exc}") from None
    return [SchemeRecord(path.stem, scheme, {"source": str(path)})]


def write_text(path: Path, records: Sequence[SchemeRecord]) -> None:
    """Write one matmul scheme in the flip-graph text format, atomically."""
    if len(records) != 1:
        raise FormatError(f"{path}: the text format holds one scheme, got {len(records)} "
                          "(pick one with --key)")
    s = records[0].scheme
    if s.shape is None:
        raise FormatError(f"{path}: the text format holds matmul schemes only (use .json)")
    atomic_write_text(path, "\n".join(format_products(s)) + "\n")


# -------------------------------------------------------------- dispatch
def _check_readable(path: Path) -> None:
    if path.suffix.lower() not in EXTENSIONS:
        raise FormatError(f"{path}: unknown extension {path.suffix!r} "
                          f"(expected one of {', '.join(EXTENSIONS)})")
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    if path.is_dir():
        raise FormatError(f"{path}: is a directory")
    if path.stat().st_size == 0:
        raise FormatError(f"{path}: file is empty")


def read_schemes(path: str | os.PathLike, ring: str | None = None,
                 shape: Shape | None = None) -> list[SchemeRecord]:
    """Every scheme in ``path``, by extension.

    Args:
      path: a ``.npz``, ``.json``, ``.txt`` or ``.exp`` file.
      ring: the ring to read in; default the file's own (``.json``) or ``"Z"``.
      shape: ``(n, m, p)`` for text and ``.npz`` keys that do not name it.
    Raises:
      FormatError: naming the file and the problem.
    """
    p = Path(path)
    _check_readable(p)
    if ring is not None and ring not in tensors.RINGS:
        raise FormatError(f"unknown ring {ring!r}; expected one of {', '.join(tensors.RINGS)}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npz":
            return read_npz(p, ring or "Z", shape)
        if suffix == ".json":
            return read_json(p, ring)
        return read_text(p, ring or "Z", shape)
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror or exc})") from None


def write_schemes(path: str | os.PathLike, records: Sequence[SchemeRecord]) -> None:
    """Write ``records`` to ``path`` in the format its extension names, atomically."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in EXTENSIONS:
        raise FormatError(f"{p}: unknown extension {p.suffix!r} "
                          f"(expected one of {', '.join(EXTENSIONS)})")
    if not records:
        raise FormatError(f"{p}: nothing to write")
    try:
        if suffix == ".npz":
            write_npz(p, records)
        elif suffix == ".json":
            write_json(p, records)
        else:
            write_text(p, records)
    except OSError as exc:
        raise FormatError(f"{p}: cannot write ({exc.strerror or exc})") from None


def read_scheme(path: str | os.PathLike, ring: str | None = None,
                shape: Shape | None = None, key: str | None = None) -> SchemeRecord:
    """Exactly one scheme from ``path`` (``key`` picks one from a file with several)."""
    records = read_schemes(path, ring, shape)
    if key is not None:
        found = [r for r in records if r.name == key]
        if not found:
            raise FormatError(f"{path}: no scheme named {key!r} "
                              f"(has {', '.join(r.name for r in records[:10])})")
        return found[0]
    if len(records) != 1:
        raise FormatError(f"{path}: holds {len(records)} schemes; pick one with --key "
                          f"({', '.join(r.name for r in records[:6])}, …)")
    return records[0]
