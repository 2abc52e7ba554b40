"""AlphaEvolve's published arrays (``google-deepmind/alphaevolve_results``, Apache-2.0).

The notebook ``mathematical_results.ipynb`` (or a ``.py`` file) holds
assignments ``decomposition_444 = (np.array([[...]], dtype=np.complex64),
np.array(...), np.array(...))``: three factor matrices ``(S_i, R)`` in
AlphaTensor's convention, with entries such as ``0.5``, ``-1.`` and
``0.5+0.5j``.  The source is **parsed, never executed**: Python's ``ast``
reads it, and only that pattern — a tuple of ``np.array`` calls over nested
lists of real or complex number literals, with an optional ``dtype`` — is
accepted.  The shape is inferred from the factor sizes.
"""

from __future__ import annotations

import ast
import json
from typing import Any

import numpy as np

from .. import limits
from ..tensors import Scheme
from .npz import scheme_from_arrays

_DTYPES = {"float16", "float32", "float64", "complex64", "complex128", "int8", "int16",
           "int32", "int64"}


def _literal(node: ast.AST) -> Any:
    """Nested lists of number literals (``-x``, ``a+bj``, ``a-bj``) → Python lists."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(x) for x in node.elts]
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, complex):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, list):
            raise ValueError("a sign before a list")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, list) or isinstance(right, list):
            raise ValueError("arithmetic on lists")
        return left + right if isinstance(node.op, ast.Add) else left - right
    raise ValueError(f"only number literals are read, found {type(node).__name__}")


def _np_array(node: ast.AST) -> np.ndarray:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "array" and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("np", "numpy") and len(node.args) == 1):
        raise ValueError("each factor must be np.array([...])")
    for kw in node.keywords:
        if kw.arg != "dtype":
            raise ValueError(f"unexpected argument {kw.arg!r} to np.array")
        val = kw.value
        name = val.attr if isinstance(val, ast.Attribute) else (
            val.value if isinstance(val, ast.Constant) else None)
        if name not in _DTYPES:
            raise ValueError("dtype must be a numeric numpy type")
    data = _literal(node.args[0])
    arr = np.asarray(data)
    if arr.dtype == object or arr.ndim != 2:
        raise ValueError("each factor must be a rectangular matrix (size, rank)")
    return arr


def decompositions_from_source(source: str) -> list[tuple[str, list[np.ndarray]]]:
    """``[(name, [u, v, w])]`` for every ``name = (np.array(...), ×3)`` in Python source."""
    limits.check_nesting(source)
    if len(source) > limits.MAX_SOURCE_BYTES:
        raise ValueError(f"Python source of {len(source):,} characters exceeds the limit of "
                         f"{limits.MAX_SOURCE_BYTES:,}")
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"not Python source ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ValueError("source nested too deeply") from None
    found = []
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Tuple) and len(stmt.value.elts) == 3):
            continue
        if not all(isinstance(e, ast.Call) for e in stmt.value.elts):
            continue
        mats = [_np_array(e) for e in stmt.value.elts]
        found.append((stmt.targets[0].id, mats))
    return found


def notebook_source(text: str) -> str:
    """The code cells of a Jupyter notebook, joined (magics and shell lines dropped)."""
    nb = json.loads(text)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not a Jupyter notebook (no 'cells')")
    chunks = []
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks)


def schemes_from_alphaevolve(source: str, ring: str = "Z") -> list[tuple[str, Scheme]]:
    """Every decomposition assigned in ``source`` as a Scheme (float entries become the
    exact rationals they stand for, complex ones Gaussian rationals)."""
    out = []
    for name, mats in decompositions_from_source(source):
        try:
            out.append((name, scheme_from_arrays(mats, ring, None)))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    if not out:
        raise ValueError("no decomposition assignments (name = (np.array(...), ×3)) found")
    return out
