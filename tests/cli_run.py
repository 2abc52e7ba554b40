"""Running the command line inside a test: ``run(capsys, *argv) → (exit code, stdout, stderr)``."""

from __future__ import annotations

from alphaalgo.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors and --help
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
