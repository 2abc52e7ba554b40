"""Pieces every command shares: the parser, exit codes and reading schemes."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .. import formats
from ..tensors import RINGS, Shape

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


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


def add_ring(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--ring", choices=RINGS, default=None, help=help)


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
