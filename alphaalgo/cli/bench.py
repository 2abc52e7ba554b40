"""``alphaalgo bench``: a scheme's kernel timed against the vendor matmul."""

from __future__ import annotations

import argparse
import json

from .. import limits
from ._common import (EXIT_OK, add_parser, check_outputs, int_range, levels_arg,
                      opened_store, seed_arg)
from .compile import add_scheme_args, level_schemes

DESCRIPTION = """\
Compile the scheme's kernel and time it against the vendor matmul in this
process, alternately, on the same random inputs (warm-up, --repeats rounds,
medians): numpy.matmul for --backend numba, jnp.matmul(precision=HIGHEST) for
--backend jax.  Both products are checked against float64 numpy (a sample of
256 rows above 4096); max_rel_error = max|C - C64| / max|C64|.

--size N is N×N times N×N; --size M,K,N is (M×K)·(K×N).
--store PATH records the measurement (a training example for the agent) under
the scheme's canonical hash and this device.  --json prints one object with
speedup, max_rel_error, the times and the device.

A scheme that is not valid over Z (Z2) is refused: exit 2.

examples:
  alphaalgo bench kernels/schemes/strassen-2x2x2-r7.json --backend numba --size 4096
  alphaalgo bench kernels/schemes/strassen-2x2x2-r7.json --backend numba --size 8192 --levels 2 --repeats 3 --json
  alphaalgo bench factorizations_r.npz --key 4,4,4 --backend jax --size 2048 --dtype float32
"""


def size_arg(text: str) -> tuple[int, int, int]:
    """``N`` or ``M,K,N`` → ``(M, K, N)``."""
    try:
        parts = tuple(int(limits.check_digits(x.strip(), "size")) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) == 1:
        parts = parts * 3
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"size must be N or M,K,N (positive integers), got {text!r}")
    try:
        return limits.check_matmul_size(*parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "bench", "time a scheme's kernel against the vendor matmul", DESCRIPTION)
    add_scheme_args(p)
    p.add_argument("--backend", choices=("numba", "jax"), required=True, help="kernel backend")
    p.add_argument("--size", type=size_arg, required=True, metavar="N[,K,M]",
                   help="N (square) or M,K,N")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p.add_argument("--levels", type=levels_arg, default=None,
                   help=f"recursion depth, 1..{limits.MAX_LEVELS} (default 1)")
    p.add_argument("--repeats", type=int_range(1, 1000, "--repeats"), default=5,
                   help="timed rounds (default 5)")
    p.add_argument("--warmup", type=int_range(0, 100, "--warmup"), default=1,
                   help="untimed rounds (default 1)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the random inputs")
    p.add_argument("--store", default=None, metavar="PATH", help="record the result in this store")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run, inner=None)


def run(args: argparse.Namespace) -> int:
    from .. import bench

    check_outputs([args.file], [args.store])
    scheme = level_schemes(args)[0]
    levels = args.levels or 1
    # opened first: a bad store path fails before minutes of timing
    with opened_store(args.store) as store:
        result = bench.benchmark(scheme, args.backend, args.size, args.dtype, levels,
                                 repeats=args.repeats, warmup=args.warmup, seed=args.seed,
                                 progress=not args.json)
        stored = bench.record(store, scheme, result) if store is not None else None
    if args.json:
        out = result.to_json()
        if stored is not None:
            out["store_id"] = stored
        print(json.dumps(out))
        return EXIT_OK
    m, k, n = result.size
    print(f"scheme   ⟨{','.join(map(str, result.shape))}⟩ rank {result.rank} "
          f"(hash {result.scheme_hash}), {levels} level(s), {args.backend}")
    print(f"product  ({m}×{k})·({k}×{n}) {result.dtype}, {args.repeats} repeats (median)")
    print(f"kernel   {result.kernel_s:.4f} s   max_rel_error {result.max_rel_error:.2e}")
    print(f"vendor   {result.vendor_s:.4f} s   max_rel_error {result.vendor_max_rel_error:.2e}")
    print(f"speedup  {result.speedup:.3f}×")
    dev = result.device
    print(f"device   {result.device_key}; BLAS {dev.get('blas')}"
          + (f"; JAX {dev.get('jax_backend')} {dev.get('device_kind')}" if 'jax_backend' in dev else ""))
    if stored is not None:
        print(f"stored   benchmark #{stored} in {args.store}")
    return EXIT_OK
