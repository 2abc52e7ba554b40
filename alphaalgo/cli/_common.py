"""Pieces every command shares: the parser, exit codes and reading schemes."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from typing import Any, Iterator, MutableMapping, NoReturn, Sequence

from .. import formats, limits
from ..tensors import RING_LABELS, RINGS, Shape

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


JAX_CACHE_MAX_BYTES = 1 << 30
"""The default size of JAX's persistent compilation cache.  With a size, JAX evicts the
least recently used programs beyond it and takes a file lock for each read and write, so
the processes of one campaign (workers, Ray actors) can share the cache safely."""


def use_jax_cache(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Keep the programs JAX compiles between runs, in ``$XDG_CACHE_HOME/alphaalgo/jax``
    (default ``~/.cache/alphaalgo/jax``): a second ``discover`` of the same shape and preset
    starts without compiling again (a ⟨2,2,2⟩ ``discover`` to rank 7 on 2 cores: median 27.2 s
    down to 12.2 s, ``benchmarks/bench_discover.py --jax-cache both``).  Only sets
    environment variables, read by JAX when it is imported here or in a child process; it
    imports nothing.

    A ``JAX_COMPILATION_CACHE_DIR`` already in ``environ`` is the user's choice and is kept
    (empty turns the cache off); a folder that cannot be created leaves it off, silently.
    Returns the folder in use, or None when off."""
    if "JAX_COMPILATION_CACHE_DIR" in environ:
        return environ["JAX_COMPILATION_CACHE_DIR"] or None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(os.path.abspath(base), "alphaalgo", "jax")
    existing = folder                      # JAX creates the missing folders: check the first that exists
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not (os.path.isdir(existing) and os.access(existing, os.W_OK | os.X_OK)):
        return None
    environ["JAX_COMPILATION_CACHE_DIR"] = folder
    environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(JAX_CACHE_MAX_BYTES))
    return folder


class UsageError(Exception):
    """Bad input or usage: reported as one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def add_parser(sub: argparse._SubParsersAction, name: str, help: str,
               description: str) -> ArgumentParser:
    """A sub-command parser whose errors are one line."""
    return sub.add_parser(name, help=help, description=description,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def shape_arg(text: str) -> Shape:
    """argparse type for ``n,m,p``."""
    try:
        return formats.parse_shape(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_ring(parser: argparse.ArgumentParser, help: str, all_rings: bool = False) -> None:
    """``--ring``: the search rings (Z, Z2), or with ``all_rings`` every ring a scheme
    can be read and checked in (ZT, Z, Q, Q(i), Z2, Z3)."""
    parser.add_argument("--ring", choices=RING_LABELS if all_rings else RINGS, default=None,
                        help=help)


def read_records(path: str, ring: str | None = None, shape: Shape | None = None
                 ) -> list[formats.SchemeRecord]:
    """``formats.read_schemes`` with format errors turned into usage errors."""
    try:
        return formats.read_schemes(path, ring=ring, shape=shape)
    except formats.FormatError as exc:
        raise UsageError(str(exc)) from None


def read_record(path: str, ring: str | None = None, shape: Shape | None = None,
                key: str | None = None) -> formats.SchemeRecord:
    """``formats.read_scheme`` (exactly one scheme; ``key`` picks one of several)
    with format errors turned into usage errors."""
    try:
        return formats.read_scheme(path, ring=ring, shape=shape, key=key)
    except formats.FormatError as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------ argument types
def int_range(lo: int, hi: int, what: str = "value"):
    """argparse type: an integer in ``lo..hi``."""
    def parse(text: str) -> int:
        try:
            value = int(limits.check_digits(text.strip().lstrip("+-"), what) and text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                str(exc) if "digits" in str(exc) else f"{what} must be an integer, got {text!r}"
            ) from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {lo:,} and {hi:,}, got {value}")
        return value
    return parse


#: A random seed: 0 .. 2**32 - 1 (numpy's and JAX's seeds).
seed_arg = int_range(0, 2**32 - 1, "seed")
#: Recursion levels of a kernel.
levels_arg = int_range(1, limits.MAX_LEVELS, "levels")


def seconds_arg(text: str) -> float:
    """argparse type: a finite, positive number of seconds (no nan, no inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"seconds must be a finite positive number, got {text!r}")
    if value > 10 * 365 * 86400:
        raise argparse.ArgumentTypeError(f"seconds must be at most ten years, got {text!r}")
    return value


def check_outputs(inputs: Sequence[str | os.PathLike | None],
                  outputs: Sequence[str | os.PathLike | None]) -> None:
    """Refuse (``UsageError``) an output path that is also an input, or two outputs that
    are one file: an output never overwrites an input."""
    def key(path: str | os.PathLike) -> str:
        return os.path.realpath(os.fspath(path))

    seen: dict[str, str] = {}
    for path in inputs:
        if path is not None:
            seen[key(path)] = f"input {os.fspath(path)}"
    for path in outputs:
        if path is None:
            continue
        k = key(path)
        if k in seen:
            if seen[k].startswith("output"):
                raise UsageError(f"{os.fspath(path)}: two outputs name the same file")
            raise UsageError(f"{os.fspath(path)}: output would overwrite the {seen[k]}")
        seen[k] = f"output {os.fspath(path)}"


@contextlib.contextmanager
def opened_store(path: str | None, readonly: bool = False) -> Iterator[Any]:
    """The results store at ``path`` (``None`` when no path is given), closed on exit;
    a path that is no usable store is a ``UsageError`` before any work starts."""
    if not path:
        yield None
        return
    from ..store import Store, StoreError

    try:
        store = Store(path, readonly=readonly)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        yield store
    finally:
        store.close()
