"""``alphaalgo export``: a standalone, installable package of verified kernels."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import limits
from ._common import (EXIT_OK, UsageError, add_parser, check_outputs, int_range, levels_arg,
                      opened_store, read_records)

DESCRIPTION = """\
Write a Python package (own pyproject.toml; needs numpy and numba, JAX
optional) holding Numba kernels of the chosen schemes, a dispatch table and
its own tests.  Its matmul(a, b) uses, for the array's dtype and sizes and the
device it runs on, the fastest measured kernel above that kernel's measured
crossover size, and numpy.matmul otherwise.

Schemes: every scheme in the --scheme files; else, with --store, per shape
the store's scheme at its lowest rank over Z that ran fastest on this machine
(fewest executed additions where none was measured); else the best shipped
ones (Strassen and Winograd <2,2,2>, the <4,4,4> rank-49 schemes).  Each is verified
exactly over Z first; a scheme that is not (a Z2 scheme) is refused: exit 2,
nothing written.

Measurements come from --store PATH (benchmarks recorded by 'alphaalgo bench
--store') and from --measure N,N,... (timed now with the Numba backend; also
recorded in --store when given).  Without any, matmul always uses numpy.matmul
and the kernels are still callable directly: PACKAGE.kernel(name).matmul(a, b).

Install: pip install DIR ; test: cd DIR && python -m pytest tests

examples:
  alphaalgo export --out build/kernels
  alphaalgo export --out build/k --scheme kernels/schemes/strassen-2x2x2-r7.json --levels 1,2 --measure 1024,2048,4096
  alphaalgo export --out build/k --scheme found.json --store runs/campaign.sqlite --name fastmm
"""


def _levels(text: str) -> tuple[int, ...]:
    return tuple(levels_arg(x) for x in text.split(","))


def _sizes(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(limits.check_digits(x.strip(), "size")) for x in text.split(","))
    except ValueError:
        out = ()
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive integers like 1024,2048, got {text!r}")
    try:
        for n in out:
            limits.check_matmul_size(n, n, n)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "export", "write an installable package of verified kernels", DESCRIPTION)
    p.add_argument("--out", required=True, metavar="DIR", help="the package folder (new or empty)")
    p.add_argument("--scheme", nargs="+", metavar="FILE", default=None,
                   help="scheme files (every scheme in each); default: the best shipped schemes")
    p.add_argument("--store", default=None, metavar="PATH", help="take measurements from this store")
    p.add_argument("--name", default="alphaalgo_kernels", help="the package's import name")
    p.add_argument("--levels", type=_levels, default=(1,), help="depths to export, e.g. 1,2 (default 1)")
    p.add_argument("--jax", action="store_true", help="also export JAX kernels")
    p.add_argument("--measure", type=_sizes, default=None, metavar="N,N,...",
                   help="time every Numba kernel at these square sizes now")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                   help="dtype of --measure (default float64)")
    p.add_argument("--repeats", type=int_range(1, 1000, "--repeats"), default=3,
                   help="timed rounds of --measure (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.name.isidentifier():
        raise UsageError(f"--name {args.name!r} is not a Python identifier")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and is not an empty folder")
    check_outputs([*(args.scheme or []), args.store], [out])
    with opened_store(args.store) as store:
        return _export(args, out, store)


def _export(args: argparse.Namespace, out: Path, store) -> int:
    """Choose the schemes, build the kernels, take the measurements, write the package."""
    from .. import export

    if args.scheme:
        schemes = [(f"{path}[{rec.name}]", rec.scheme)
                   for path in args.scheme for rec in read_records(path)]
    elif store is not None:
        schemes = export.store_schemes(store)
        if not schemes:
            raise UsageError(f"{args.store}: holds no scheme valid over the reals to export")
    else:
        from ..catalog import CatalogError

        try:
            schemes = export.default_schemes()
        except CatalogError as exc:
            raise UsageError(str(exc)) from None
    try:
        specs = export.build_specs(schemes, args.levels, jax=args.jax)
        measurements = export.measurements_from_store(store, specs) if store is not None else []
        if args.measure:
            measurements += _measure(specs, args, store)
        path = export.write_package(out, specs, measurements, name=args.name,
                                    provenance="alphaalgo " + " ".join(sys.argv[1:]))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the package ({exc.strerror or exc})") from None
    table = export.crossovers(measurements)
    print(f"wrote {path}: package {args.name}, {len(specs)} kernel(s), "
          f"{len(table)} dispatch row(s) from {len(measurements)} measurement(s)")
    return EXIT_OK


def _measure(specs, args: argparse.Namespace, store) -> list[dict]:
    from .. import bench

    rows = []
    for k in specs:
        if k.backend != "numba":
            continue
        for n in args.measure:
            res = bench.benchmark(k.scheme, "numba", (n, n, n), args.dtype, k.levels,
                                  repeats=args.repeats, progress=True)
            if store is not None:
                bench.record(store, k.scheme, res)
            print(f"  {k.name} {n}: speedup {res.speedup:.3f}, error {res.max_rel_error:.1e}")
            rows.append({"kernel": k.name, "device": res.device_key, "backend": "numba",
                         "dtype": args.dtype, "size": res.size, "speedup": res.speedup,
                         "vendor_s": res.vendor_s})
    return rows
