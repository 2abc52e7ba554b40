"""Reading and writing scheme files in the field's formats.

| format | extension | module | read | write |
|---|---|---|---|---|
| AlphaTensor's arrays | ``.npz`` | :mod:`.npz` | yes | yes |
| the project's JSON | ``.json`` | :mod:`.project_json` | yes | yes |
| Perminov's JSON | ``.json`` (by content) | :mod:`.perminov` | yes | ``fmt="perminov"`` |
| flip-graph products (Kauers–Moosbauer ``.exp``) | ``.txt``, ``.exp`` | :mod:`.notation` | yes | yes |
| the ternary tool's text | ``.txt`` (by content) | :mod:`.ternary_txt` | yes | ``fmt="ternary"`` |
| Maple lists | ``.m`` | :mod:`.maple` | yes | yes |
| AlphaEvolve's arrays | ``.ipynb``, ``.py`` | :mod:`.alphaevolve` | yes (parsed, never run) | no |

Every reader goes through the input guard (:mod:`alphaalgo.limits`): sizes,
ranks, indices, digits, nesting and decompressed bytes are checked before
anything is allocated.  Errors are :class:`FormatError`, whose message names
the file and the problem.

Rings.  Formats that state a ring (the project's JSON, Perminov's ``"z2"``, the
``.npz`` zip comment this project writes) are read in it.  Otherwise, unless a
ring is asked for, a scheme is read in characteristic 0 and, if it is not valid
there but is valid mod 2 (or mod 3), it is held in Z2 (or Z3): Kauers–Moosbauer's
``-mod2`` files and AlphaTensor's ``factorizations_f2.npz`` come back as Z2
schemes.  A ring asked for (``ZT``, ``Z``, ``Q``, ``Q(i)``, ``Z2``, ``Z3``) sets
the arithmetic: mod p for Z2/Z3 (rational coefficients need denominators prime
to p), characteristic 0 otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from .. import limits, tensors
from ..atomic import atomic_write_text
from ..tensors import Shape
from .alphaevolve import notebook_source, schemes_from_alphaevolve
from .common import (FormatError, Gauss, SchemeRecord, infer_shape, parse_shape,
                     rational_matrix, read_text_file)
from .maple import maple_text, scheme_from_maple
from .notation import format_products, parse_products
from .npz import read_npz, write_npz
from .perminov import is_perminov_json, perminov_text, read_perminov
from .project_json import (JSON_FORMAT, JSON_VERSION, is_project_json, records_from_json,
                           scheme_from_json, scheme_to_json, write_json)
from .ternary_txt import looks_like_ternary, schemes_from_ternary, ternary_text

__all__ = [
    "EXTENSIONS", "WRITE_EXTENSIONS", "WRITE_FORMATS", "FormatError", "Gauss", "SchemeRecord", "JSON_FORMAT",
    "JSON_VERSION", "format_products", "infer_shape", "parse_products", "parse_shape",
    "rational_matrix", "read_scheme", "read_schemes", "scheme_from_json", "scheme_to_json",
    "write_schemes", "detect_format",
]

EXTENSIONS = (".npz", ".json", ".txt", ".exp", ".m", ".ipynb", ".py")
#: Formats :func:`write_schemes` can write, by name (``None`` chooses by extension).
WRITE_FORMATS = ("npz", "json", "products", "maple", "perminov", "ternary")
_BY_EXTENSION = {".npz": "npz", ".json": "json", ".txt": "products", ".exp": "products",
                 ".m": "maple"}
#: Extensions :func:`write_schemes` writes without being told a format.
WRITE_EXTENSIONS = tuple(_BY_EXTENSION)


def _check_readable(path: Path) -> None:
    if path.suffix.lower() not in EXTENSIONS:
        raise FormatError(f"{path}: unknown extension {path.suffix!r} "
                          f"(expected one of {', '.join(EXTENSIONS)})")
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    if path.is_dir():
        raise FormatError(f"{path}: is a directory")
    size = path.stat().st_size
    if size == 0:
        raise FormatError(f"{path}: file is empty")
    try:
        limits.check_file_size(path, size)
    except ValueError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _parse_int(text: str) -> int:
    limits.check_digits(text.lstrip("-"), "integer")
    return int(text)


def _load_json(text: str) -> object:
    limits.check_nesting(text, "[{", "]}")
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc.msg} at line {exc.lineno})") from None


def detect_format(path: str | os.PathLike) -> str:
    """The format of a readable file: ``npz``, ``json``, ``perminov``, ``products``,
    ``ternary``, ``maple`` or ``alphaevolve`` (by extension, then by content)."""
    p = Path(path)
    _check_readable(p)
    suffix = p.suffix.lower()
    if suffix in (".npz", ".m", ".exp"):
        return {".npz": "npz", ".m": "maple", ".exp": "products"}[suffix]
    if suffix in (".ipynb", ".py"):
        return "alphaevolve"
    text = read_text_file(p)
    if suffix == ".txt":
        return "ternary" if looks_like_ternary(text) else "products"
    try:
        obj = _load_json(text)
    except ValueError as exc:
        raise FormatError(f"{p}: {exc}") from None
    return "perminov" if is_perminov_json(obj) else "json"


def _settle_ring(records: list[SchemeRecord]) -> list[SchemeRecord]:
    """Schemes read without a stated ring: those invalid in characteristic 0 but
    valid mod 2 (else mod 3) are held in that field."""
    out = []
    for rec in records:
        label = tensors.ring_label(rec.scheme).label if rec.scheme.ring == "Z" else None
        if label in ("Z2", "Z3"):
            rec = SchemeRecord(rec.name, tensors.as_ring(rec.scheme, label)[0], rec.provenance)
        out.append(rec)
    return out


def _read(p: Path, ring: str | None, shape: Shape | None) -> list[SchemeRecord]:
    arith = tensors.arithmetic(ring) if ring else None
    suffix = p.suffix.lower()
    if suffix == ".npz":
        records, stated = read_npz(p, arith, shape)
        return records if stated else _settle_ring(records)
    text = read_text_file(p)
    source = {"source": str(p)}
    if suffix == ".json":
        obj = _load_json(text)
        if is_project_json(obj):
            return records_from_json(obj, p, ring)
        if is_perminov_json(obj):
            return read_perminov(obj, p, arith)  # type: ignore[arg-type]
        raise ValueError("neither an alphaalgo scheme (\"format\": \"alphaalgo-scheme\") nor "
                         "Perminov's JSON (\"n\", \"u\", \"v\", \"w\")")
    if suffix == ".m":
        records = [SchemeRecord(p.stem, scheme_from_maple(text, arith or "Z"), source)]
    elif suffix in (".ipynb", ".py"):
        src = notebook_source(text) if suffix == ".ipynb" else text
        records = [SchemeRecord(name, s, {**source, "variable": name})
                   for name, s in schemes_from_alphaevolve(src, arith or "Z")]
    elif suffix == ".txt" and looks_like_ternary(text):
        schemes = schemes_from_ternary(text, arith or "Z")
        names = [p.stem] if len(schemes) == 1 else [f"{p.stem}#{i + 1}" for i in range(len(schemes))]
        records = [SchemeRecord(n, s, source) for n, s in zip(names, schemes)]
    else:
        records = [SchemeRecord(p.stem, parse_products(text.splitlines(), ring=arith or "Z",
                                                       shape=shape), source)]
    return records if arith else _settle_ring(records)


def read_schemes(path: str | os.PathLike, ring: str | None = None,
                 shape: Shape | None = None) -> list[SchemeRecord]:
    """Every scheme in ``path``, by extension and content.

    Args:
      path: a file in one of the formats of this module's table.
      ring: a ring of ``tensors.RING_LABELS`` to read in; default the file's own
        or the one its schemes are valid over (see the module docstring).
      shape: ``(n, m, p)`` for text and ``.npz`` keys that do not name it.
    Raises:
      FormatError: naming the file and the problem.
    """
    p = Path(path)
    _check_readable(p)
    if ring is not None and ring not in tensors.RING_LABELS:
        raise FormatError(f"unknown ring {ring!r}; expected one of {', '.join(tensors.RING_LABELS)}")
    try:
        if shape is not None:
            shape = limits.check_shape(tuple(shape))
        return _read(p, ring, shape)
    except FormatError:
        raise
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, ZeroDivisionError,
            RecursionError, MemoryError) as exc:
        what = str(exc) or type(exc).__name__
        if isinstance(exc, RecursionError):
            what = "nested too deeply"
        raise FormatError(f"{p}: {what}") from None


def write_schemes(path: str | os.PathLike, records: Sequence[SchemeRecord],
                  fmt: str | None = None) -> None:
    """Write ``records`` to ``path`` atomically, in ``fmt`` (one of
    :data:`WRITE_FORMATS`) or the format its extension names."""
    p = Path(path)
    suffix = p.suffix.lower()
    if fmt is None:
        if suffix not in _BY_EXTENSION:
            raise FormatError(f"{p}: cannot write {p.suffix or 'files without an extension'!r} "
                              f"(expected one of {', '.join(_BY_EXTENSION)})")
        fmt = _BY_EXTENSION[suffix]
    if fmt not in WRITE_FORMATS:
        raise FormatError(f"{p}: unknown format {fmt!r}; expected one of {', '.join(WRITE_FORMATS)}")
    if not records:
        raise FormatError(f"{p}: nothing to write")
    try:
        if fmt == "npz":
            write_npz(p, records)
        elif fmt == "json":
            write_json(p, records)
        elif fmt == "perminov":
            atomic_write_text(p, perminov_text(records))
        elif fmt == "ternary":
            atomic_write_text(p, ternary_text([r.scheme for r in records]))
        else:
            if len(records) != 1:
                raise FormatError(f"{p}: the {fmt} format holds one scheme, got {len(records)} "
                                  "(pick one with --key)")
            s = records[0].scheme
            if fmt == "maple":
                atomic_write_text(p, maple_text(s))
            else:
                if s.shape is None:
                    raise FormatError(f"{p}: the text format holds matmul schemes only (use .json)")
                atomic_write_text(p, "\n".join(format_products(s)) + "\n")
    except ValueError as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{p}: {exc}") from None
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
