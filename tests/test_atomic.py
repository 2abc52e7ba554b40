"""Atomic writes: temporaries a killed writer left are cleaned, modes follow the umask."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alphaalgo.atomic import atomic_write_text, clean_stale


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_temporaries_of_a_killed_writer_are_cleaned(tmp_path):
    dead = _dead_pid()
    stale_file = tmp_path / f".out.json.{dead}.abc123.tmp"
    stale_file.write_text("half")
    stale_dir = tmp_path / f".pkg.{dead}.xyz.tmp"
    (stale_dir / "inner").mkdir(parents=True)
    live = tmp_path / f".out.json.{os.getpid()}.live.tmp"     # a writer still running
    live.write_text("busy")
    atomic_write_text(tmp_path / "out.json", "{}")
    assert not stale_file.exists() and live.exists()
    assert stale_dir.exists()                                 # another target's: left alone
    assert clean_stale(tmp_path) == [stale_dir]
    assert (tmp_path / "out.json").read_text() == "{}"


def test_modes_follow_the_umask_and_a_replaced_file_keeps_its_own(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
    target = tmp_path / "kept.txt"
    target.write_text("old")
    os.chmod(target, 0o604)
    atomic_write_text(target, "new")
    assert target.stat().st_mode & 0o777 == 0o604 and target.read_text() == "new"


def test_convert_killed_mid_write_leaves_no_temporary_for_long(tmp_path):
    """A convert killed while writing leaves a temporary; the next write of that
    target removes it."""
    from alphaalgo import catalog, formats

    out = tmp_path / "s.json"
    dead = _dead_pid()
    (tmp_path / f".s.json.{dead}.k1ll.tmp").write_text("{")
    formats.write_schemes(out, [formats.SchemeRecord("s", catalog.strassen())])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    assert Path(out).read_text().startswith("{")
