"""A minimal PEP 517 build backend for this exported package (no setuptools, no network).

It writes a pure-Python wheel: the package folder, plus the ``.dist-info``
metadata, so ``pip install DIR`` works in a bare virtual environment.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "__PKG__"
VERSION = "0.1.0"
REQUIRES = ["numpy", "numba"]
EXTRAS = {"jax": ["jax"], "test": ["pytest"]}
SUMMARY = "Fast matrix-multiplication kernels (verified schemes) exported by alphaalgo."
ROOT = os.path.dirname(os.path.abspath(__file__))


def _metadata() -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {VERSION}",
             f"Summary: {SUMMARY}", "Requires-Python: >=3.10"]
    lines += [f"Requires-Dist: {r}" for r in REQUIRES]
    for extra, reqs in EXTRAS.items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in reqs]
    return "\n".join(lines) + "\n"


def _files():
    pkg = os.path.join(ROOT, NAME)
    for folder, dirs, files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                full = os.path.join(folder, f)
                yield full, os.path.relpath(full, ROOT).replace(os.sep, "/")


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = f"{NAME}-{VERSION}.dist-info"
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as whl:
        def add(arcname: str, data: bytes) -> None:
            whl.writestr(arcname, data)
            records.append(f"{arcname},{_digest(data)},{len(data)}")

        for full, arc in _files():
            with open(full, "rb") as fh:
                add(arc, fh.read())
        add(f"{dist}/METADATA", _metadata().encode())
        add(f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: alphaalgo-export\n"
                             b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        add(f"{dist}/top_level.txt", f"{NAME}\n".encode())
        records.append(f"{dist}/RECORD,,")
        whl.writestr(f"{dist}/RECORD", "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for rel in ("pyproject.toml", "README.md", "_build_backend.py"):
            tar.add(os.path.join(ROOT, rel), f"{base}/{rel}")
        for full, arc in _files():
            tar.add(full, f"{base}/{arc}")
        for f in sorted(os.listdir(os.path.join(ROOT, "tests"))):
            if f.endswith(".py"):
                tar.add(os.path.join(ROOT, "tests", f), f"{base}/tests/{f}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return name
