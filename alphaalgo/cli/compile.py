"""``alphaalgo compile``: a scheme to the Python source of a fast matmul kernel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..atomic import atomic_write_text
from .. import limits
from ._common import (EXIT_OK, UsageError, add_parser, add_ring, check_outputs, levels_arg,
                      read_record, shape_arg)

DESCRIPTION = """\
Write the source of a matmul kernel built from a scheme for <n,m,p>:

  --backend numba  CPUs: A cut into n×m blocks, B into m×p; each product's
                   operand sums in one fused, parallel Numba pass; products
                   through the BLAS (cblas gemm on strided blocks) or one more
                   level; results accumulated into C's blocks in place.
  --backend jax    GPUs/TPUs: a jitted JAX function of the same structure; leaf
                   products at precision=HIGHEST.

The module defines matmul(a, b) for 2-D float32/float64 arrays of any sizes
(sizes that do not divide are peeled (Numba) or zero-padded (JAX)).  It is
standalone: it needs numpy and numba (or jax), not alphaalgo.

The scheme is verified exactly first.  A scheme that is not valid over Z (a Z2
scheme: its products do not compute A·B over the reals) is refused: exit 2.

examples:
  alphaalgo compile kernels/schemes/strassen-2x2x2-r7.json --backend numba --out strassen.py
  alphaalgo compile kernels/schemes/strassen-2x2x2-r7.json --backend numba --levels 2 --out s2.py
  alphaalgo compile factorizations_r.npz --key 4,4,4 --backend jax --out at444.py
  alphaalgo compile s.json --inner kernels/schemes/winograd-2x2x2-r7.json --backend numba --out mix.py
"""


def add_scheme_args(p: argparse.ArgumentParser) -> None:
    """FILE, --key, --shape, --ring: how compile, bench and export pick a scheme."""
    p.add_argument("file", metavar="FILE", help="scheme file (.json, .npz, .txt, .exp)")
    p.add_argument("--key", default=None, help="the scheme's name/key when FILE holds several")
    p.add_argument("--shape", type=shape_arg, default=None,
                   help="n,m,p for text files or npz keys that do not name it")
    add_ring(p, "ring to read the file in (default: the file's own, else the one its schemes are valid over)",
             all_rings=True)


def level_schemes(args: argparse.Namespace) -> list:
    """The scheme of each level: FILE's, repeated ``--levels`` times, or FILE's then ``--inner``'s."""
    from .. import codegen

    first = read_record(args.file, args.ring, args.shape, args.key)
    inner = [read_record(path, args.ring) for path in (args.inner or [])]
    if inner:
        if args.levels is not None and args.levels != 1 + len(inner):
            raise UsageError(f"--levels {args.levels} disagrees with 1 + {len(inner)} --inner schemes")
        schemes = [first.scheme] + [r.scheme for r in inner]
    else:
        schemes = [first.scheme] * (args.levels or 1)
    for rec_scheme in schemes:
        try:
            codegen.check_real(rec_scheme)
        except codegen.NotAMatmulAlgorithm as exc:
            raise UsageError(str(exc)) from None
    products = 1
    for s in schemes:
        products *= s.rank
    if products > limits.MAX_FACTOR_ENTRIES:
        raise UsageError(f"{len(schemes)} levels of rank {schemes[0].rank} make {products:,} "
                         f"products; the limit is {limits.MAX_FACTOR_ENTRIES:,}")
    return schemes


def add_level_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("numba", "jax"), required=True, help="kernel backend")
    p.add_argument("--levels", type=levels_arg, default=None,
                   help=f"recursion depth: the scheme applied L times, 1..{limits.MAX_LEVELS} "
                        "(default 1)")
    p.add_argument("--inner", action="append", metavar="FILE", default=None,
                   help="a scheme for the next level down (repeatable; each file one scheme)")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "compile", "write a scheme's kernel as Python source", DESCRIPTION)
    add_scheme_args(p)
    add_level_args(p)
    p.add_argument("--out", required=True, metavar="MODULE.py", help="where to write the source")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import codegen

    out = Path(args.out)
    if out.suffix != ".py":
        raise UsageError(f"{out}: the output must be a .py file")
    check_outputs([args.file, *(args.inner or [])], [out])
    schemes = level_schemes(args)
    source = codegen.kernel_source(schemes, args.backend, name=Path(args.file).stem,
                                   provenance="alphaalgo " + " ".join(sys.argv[1:]))
    try:
        atomic_write_text(out, source)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write ({exc.strerror or exc})") from None
    adds = codegen.addition_counts(schemes[0])
    s = schemes[0]
    print(f"wrote {out}: {args.backend} kernel, ⟨{','.join(map(str, s.shape))}⟩ rank {s.rank}, "
          f"{len(schemes)} level(s), additions {adds['written_out']} written out / "
          f"{adds['shared']} shared")
    return EXIT_OK
