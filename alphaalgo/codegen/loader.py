"""Loading generated kernel source as a Python module."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types
from pathlib import Path

from ..atomic import atomic_write_text


def cache_dir() -> Path:
    """Where generated modules are kept: ``$ALPHAALGO_CACHE/kernels`` or ``~/.cache/alphaalgo/kernels``."""
    root = os.environ.get("ALPHAALGO_CACHE") or os.path.join(Path.home(), ".cache", "alphaalgo")
    return Path(root) / "kernels"


def load_source(source: str, name: str | None = None, directory: Path | None = None
                ) -> types.ModuleType:
    """Write ``source`` to a file (named by its digest) and import it as a module.

    A real file lets Numba cache compiled code beside it and gives tracebacks
    their lines.  The same source loads the same module object again.
    """
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    modname = name or f"alphaalgo_kernel_{digest}"
    if modname in sys.modules and getattr(sys.modules[modname], "__digest__", None) == digest:
        return sys.modules[modname]
    folder = directory or cache_dir()
    path = folder / f"{modname}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != source:
        atomic_write_text(path, source)
    spec = importlib.util.spec_from_file_location(modname, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[modname]
        raise
    module.__digest__ = digest
    return module
