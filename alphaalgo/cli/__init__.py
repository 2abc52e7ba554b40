"""The ``alphaalgo`` command: a thin layer over the library.

Each command lives in its own module exposing ``register(subparsers)``, which
adds a sub-parser whose ``func`` default runs the command and returns its exit
status.  Exit status: 0 success, 1 a negative result (an invalid scheme, a
target not reached), 2 bad input or usage, with a one-line message.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Sequence

from ._common import EXIT_USAGE, ArgumentParser, UsageError, use_jax_cache

# Modules under alphaalgo.cli, in the order --help lists them.
COMMANDS = ["verify", "convert", "catalog", "results", "improve", "harvest", "compile", "bench", "export",
            "discover"]


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="alphaalgo",
        description="Discover, verify, compile and benchmark matrix-multiplication algorithms "
                    "(schemes u⊗v⊗w of the tensor ⟨n,m,p⟩).",
        epilog="Exit status: 0 success, 1 negative result (invalid scheme, target not reached), "
               "2 bad input or usage. 'alphaalgo COMMAND --help' explains each command.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a refused argument (2), already printed
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    use_jax_cache()
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"alphaalgo {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"alphaalgo {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
