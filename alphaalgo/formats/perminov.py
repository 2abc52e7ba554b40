"""Perminov's JSON (``dronperminov/FastMatrixMultiplication``, MIT licence).

``{"n": [n1, n2, n3], "m": R, "z2": bool, "u": R×(n1·n2), "v": R×(n2·n3),
"w": R×(n3·n1), ...}``: each row of ``u``/``v``/``w`` is one term's coefficients
of A (row-major), B (row-major) and C transposed, the layout of AlphaTensor's
factors term by term.  Coefficients are integers or fractions written as
strings (``"-1/2"``).  ``"z2": true`` marks a scheme valid mod 2 only.  The
``multiplications``/``elements`` strings are for people and are not read.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from .. import limits, tensors
from ..tensors import Scheme
from .common import Gauss, SchemeRecord, dense_terms, exact_number, scheme_from_dense


def is_perminov_json(obj: Any) -> bool:
    return isinstance(obj, dict) and "n" in obj and all(k in obj for k in "uvw")


def _coefficient(x: Any) -> Gauss:
    if isinstance(x, bool):
        raise ValueError(f"coefficient {x!r} is not a number")
    if isinstance(x, int):
        return Gauss(Fraction(limits.check_coefficient(x)))
    if isinstance(x, str):
        return Gauss(exact_number(x))
    if isinstance(x, float) and x == int(x):
        return Gauss(Fraction(limits.check_coefficient(int(x))))
    raise ValueError(f"coefficient {x!r} is not an integer or a fraction string")


def scheme_from_perminov(obj: dict, ring: str | None = None) -> tuple[Scheme, str]:
    """The scheme of one Perminov JSON document, and the ring it is held in."""
    dims = obj["n"]
    if (not isinstance(dims, list) or len(dims) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims)):
        raise ValueError("'n' must be three integers [n1, n2, n3]")
    shape = limits.check_shape(tuple(dims))
    rank = obj.get("m")
    mats = [obj["u"], obj["v"], obj["w"]]
    for name, mat in zip("uvw", mats):
        if not isinstance(mat, list) or not all(isinstance(row, list) for row in mat):
            raise ValueError(f"'{name}' must be a list of rows (one per term)")
    if rank is not None and rank != len(mats[0]):
        raise ValueError(f"'m' says rank {rank!r}, 'u' has {len(mats[0])} rows")
    limits.check_rank(len(mats[0]), (shape[0] * shape[1], shape[1] * shape[2],
                                     shape[2] * shape[0]))
    exact = [[[_coefficient(x) for x in row] for row in mat] for mat in mats]
    held = ring or ("Z2" if obj.get("z2") is True else "Z")
    return scheme_from_dense(exact, shape, held), held


def read_perminov(obj: dict, path: Path, ring: str | None = None) -> list[SchemeRecord]:
    scheme, _ = scheme_from_perminov(obj, ring)
    return [SchemeRecord(path.stem, scheme, {"source": str(path), "format": "perminov-json"})]


def _json_number(c: Gauss) -> int | str:
    if c.im:
        raise ValueError("Perminov's JSON holds real coefficients only")
    return int(c.re) if c.re.denominator == 1 else str(c.re)


def perminov_document(scheme: Scheme) -> dict:
    """A scheme as Perminov's JSON object (``n``, ``m``, ``z2``, ``u``, ``v``, ``w``)."""
    if scheme.shape is None:
        raise ValueError("Perminov's JSON holds matmul schemes only")
    if scheme.imag is not None:
        raise ValueError("Perminov's JSON holds real coefficients only")
    if scheme.ring == "Z3":
        raise ValueError("Perminov's JSON has no Z3 marker; write .json or .txt")
    u, v, w = dense_terms(scheme)
    z2 = scheme.ring == "Z2" and not tensors.verify(scheme, "Q").valid
    return {"n": list(scheme.shape), "m": scheme.rank, "z2": z2,
            "u": [[_json_number(c) for c in row] for row in u],
            "v": [[_json_number(c) for c in row] for row in v],
            "w": [[_json_number(c) for c in row] for row in w]}


def perminov_text(records: Sequence[SchemeRecord]) -> str:
    import json

    if len(records) != 1:
        raise ValueError(f"Perminov's JSON holds one scheme, got {len(records)}")
    doc = perminov_document(records[0].scheme)
    rows = {k: "[\n" + ",\n".join("        " + json.dumps(r) for r in doc[k]) + "\n    ]"
            for k in "uvw"}
    head = {k: doc[k] for k in ("n", "m", "z2")}
    body = ",\n".join(f'    "{k}": {json.dumps(v)}' for k, v in head.items())
    body += ",\n" + ",\n".join(f'    "{k}": {rows[k]}' for k in "uvw")
    return "{\n" + body + "\n}\n"
