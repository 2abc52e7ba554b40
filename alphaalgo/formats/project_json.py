"""The project's own ``.json``: shape, ring, rank, the products in the text
notation, provenance and the verification result.  A file holds one scheme, or
several under ``"schemes"``.

``"ring"`` is the smallest ring the scheme is valid over (ZT, Z, Q, Q(i), Z2 or
Z3; see ``tensors.RING_LABELS``); on reading, ZT/Z/Q/Q(i) are all held in
characteristic 0 and checked again.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import limits, tensors
from ..atomic import atomic_write_text
from .common import SchemeRecord
from .notation import format_products, parse_products

JSON_FORMAT = "alphaalgo-scheme"
JSON_VERSION = 1


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def scheme_to_json(record: SchemeRecord) -> dict:
    """The JSON object of one scheme, verified exactly on the way out."""
    s = record.scheme
    check = tensors.ring_label(s)
    obj: dict[str, Any] = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "name": record.name,
        "shape": list(s.shape) if s.shape is not None else None,
        "ring": check.label if check.valid and check.label else s.ring,
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
    obj["verification"] = {"valid": check.valid, "ring": check.label,
                           "checked_in": check.ring,
                           "denominators": list(check.denominators),
                           "method": "exact integer arithmetic", "checked_at": _now()}
    return obj


def _int_list(value: Any, what: str) -> list[int]:
    if (not isinstance(value, list)
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)):
        raise ValueError(f"{what} must be a list of integers")
    return value


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
    if file_ring not in tensors.RING_LABELS:
        raise ValueError(f"{where}: unknown ring {file_ring!r}")
    products = obj["products"]
    if not isinstance(products, list) or not all(isinstance(x, str) for x in products):
        raise ValueError(f"{where}: 'products' must be a list of strings")
    rank = obj["rank"]
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise ValueError(f"{where}: rank must be an integer")
    limits.check_rank(rank)
    if rank != len(products):
        raise ValueError(f"{where}: rank {rank!r} does not match the {len(products)} products")
    target = None
    shape = obj.get("shape")
    if shape is not None:
        shape = tuple(_int_list(shape, f"{where}: shape"))
        shape = limits.check_shape(shape, f"{where}: shape")
    else:
        tgt = obj.get("target")
        if not isinstance(tgt, dict) or "sizes" not in tgt or "entries" not in tgt:
            raise ValueError(f"{where}: needs a 'shape' or a 'target' with sizes and entries")
        sizes = limits.check_sizes(tuple(_int_list(tgt["sizes"], f"{where}: target sizes")),
                                   f"{where}: target")
        target = np.zeros(sizes, dtype=np.int64)
        if not isinstance(tgt["entries"], list):
            raise ValueError(f"{where}: target entries must be a list")
        for entry in tgt["entries"]:
            entry = _int_list(entry, f"{where}: target entry")
            if len(entry) != 4:
                raise ValueError(f"{where}: target entries must be [i, j, k, value] integers")
            a, b, c, val = entry
            if not all(0 <= x < s for x, s in zip((a, b, c), sizes)):
                raise ValueError(f"{where}: target entry {entry} is outside the sizes {list(sizes)}")
            target[a, b, c] = limits.check_coefficient(val, "target entry")
    scheme = parse_products(products, ring=tensors.arithmetic(ring or file_ring), shape=shape,
                            target=target)
    return SchemeRecord(str(obj.get("name", "")), scheme, dict(obj.get("provenance") or {}))


def is_project_json(obj: Any) -> bool:
    """True for a document in the project's format (one scheme or ``"schemes"``)."""
    return isinstance(obj, dict) and (obj.get("format") == JSON_FORMAT or "schemes" in obj)


def records_from_json(obj: Any, path: Path, ring: str | None = None) -> list[SchemeRecord]:
    """The schemes of a parsed project ``.json`` document."""
    items = obj["schemes"] if isinstance(obj, dict) and "schemes" in obj else [obj]
    if not isinstance(items, list) or not items:
        raise ValueError("'schemes' must be a non-empty list")
    records = []
    for i, item in enumerate(items):
        rec = scheme_from_json(item, f"scheme {i + 1}" if len(items) > 1 else "scheme", ring)
        records.append(dataclasses.replace(rec, name=rec.name or path.stem))
    return records


def write_json(path: Path, records: Sequence[SchemeRecord]) -> None:
    """Write one scheme (or several under ``"schemes"``), atomically."""
    objs = [scheme_to_json(r) for r in records]
    doc: Any = objs[0] if len(objs) == 1 else {"schemes": objs}
    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
