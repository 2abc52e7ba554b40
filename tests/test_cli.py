"""The command line: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alphaalgo import catalog, formats
from alphaalgo.formats import SchemeRecord
from cli_run import run

REPO = Path(__file__).resolve().parent.parent


def test_console_script_help():
    exe = Path(sys.executable).parent / "alphaalgo"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "alphaalgo.cli"]
    res = subprocess.run(cmd + ["--help"], capture_output=True, text=True)
    assert res.returncode == 0
    for command in ("verify", "convert", "catalog"):
        assert command in res.stdout


@pytest.mark.parametrize("command", ["verify", "convert", "catalog"])
def test_every_command_has_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "usage" in out and len(out.splitlines()) > 5


def test_help_examples_keep_their_line_breaks(capsys):
    """An example split over two lines ends its first line with a backslash
    (a lone backslash in the source joins the lines instead)."""
    from alphaalgo.cli import build_parser

    commands = sorted(build_parser()._subparsers._group_actions[0].choices)
    for command in commands:
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        for line in out.splitlines():
            if line.lstrip().startswith("alphaalgo "):
                assert "     --" not in line, f"{command} --help: {line}"


def test_verify_reference_in_the_right_ring(capsys, reference_dir):
    code, out, _ = run(capsys, "verify", str(reference_dir / "factorizations_r.npz"))
    assert code == 0 and "93 of 93 schemes valid" in out
    code, out, _ = run(capsys, "verify", str(reference_dir / "factorizations_f2.npz"), "--ring", "Z2")
    assert code == 0 and "20 of 20 schemes valid" in out
    code, out, _ = run(capsys, "verify", str(reference_dir / "factorizations_f2.npz"), "--ring", "Z")
    assert code == 1 and "0 of 20 schemes valid" in out


def test_verify_rejects_a_changed_coefficient(capsys, tmp_path, reference_dir):
    rec = formats.read_schemes(reference_dir / "factorizations_r.npz")[0]
    s = rec.scheme
    w = s.w.copy()
    w[1, 2] -= 1
    path = tmp_path / "bad.npz"
    formats.write_schemes(path, [SchemeRecord("b", s.replace(w=w))])
    code, out, _ = run(capsys, "verify", str(path), "--json")
    assert code == 1
    row = json.loads(out.splitlines()[0])
    assert row["valid"] is False and row["wrong_entries"] > 0 and row["first_wrong"]


@pytest.mark.parametrize("name, content, message", [
    ("missing.npz", None, "no such file"),
    ("empty.json", b"", "empty"),
    ("bad.csv", b"1,2", "unknown extension"),
    ("junk.npz", b"not a zip", "not a readable"),
    ("half.json", b'{"format": ', "malformed JSON"),
    ("t.txt", b"(a11)*(b11)", "A, B and C factors"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "verify", str(path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert message in err and name in err


def test_usage_errors_are_one_line(capsys):
    code, _, err = run(capsys, "verify")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "catalog", "--shape", "2,x,2")
    assert code == 2 and "shape" in err and len(err.strip().splitlines()) == 1


def test_convert_round_trip_through_all_formats(capsys, tmp_path):
    src = tmp_path / "s.json"
    formats.write_schemes(src, [SchemeRecord("s", catalog.winograd())])
    prev = src
    for ext in (".txt", ".npz", ".exp", ".json"):
        dst = tmp_path / f"out{ext}"
        code, out, _ = run(capsys, "convert", str(prev), str(dst))
        assert code == 0, out
        prev = dst
    assert formats.read_scheme(prev).scheme == catalog.winograd()


def test_convert_with_key(capsys, tmp_path, reference_dir):
    dst = tmp_path / "s.txt"
    code, _, _ = run(capsys, "convert", str(reference_dir / "factorizations_r.npz"), str(dst),
                     "--key", "3,3,3")
    assert code == 0
    assert len(dst.read_text().splitlines()) == 23
    code, _, err = run(capsys, "convert", str(reference_dir / "factorizations_r.npz"),
                       str(tmp_path / "all.txt"))
    assert code == 2 and "holds one scheme" in err
    assert not (tmp_path / "all.txt").exists()


def test_convert_leaves_nothing_behind_on_error(capsys, tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 broken")
    dst = tmp_path / "out.json"
    code, _, _ = run(capsys, "convert", str(junk), str(dst))
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz"]
    # An existing output is untouched.
    dst.write_text("keep me")
    code, _, _ = run(capsys, "convert", str(junk), str(dst))
    assert code == 2 and dst.read_text() == "keep me"


def test_convert_refuses_crafted_pickle(capsys, tmp_path):
    from test_formats import _RunsCommand, _write_npz_member
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.npz"
    _write_npz_member(evil, "2,2,2", _RunsCommand(str(marker)))
    code, _, err = run(capsys, "convert", str(evil), str(tmp_path / "out.json"))
    assert code == 2 and "refusing" in err
    assert not marker.exists() and not (tmp_path / "out.json").exists()


def test_convert_invalid_scheme_exits_1(capsys, tmp_path):
    s = catalog.strassen()
    u = s.u.copy()
    u[0, 1] = 1 - u[0, 1]
    src = tmp_path / "bad.txt"
    formats.write_schemes(src, [SchemeRecord("b", s.replace(u=u))])
    dst = tmp_path / "bad.json"
    code, _, err = run(capsys, "convert", str(src), str(dst))
    assert code == 1 and "invalid" in err
    assert json.loads(dst.read_text())["verification"]["valid"] is False


def test_catalog_table_and_json(capsys):
    code, out, _ = run(capsys, "catalog", "--shape", "2,2,2")
    assert code == 0 and "strassen-2x2x2-r7" in out and "winograd-2x2x2-r7" in out
    code, out, _ = run(capsys, "catalog", "--ring", "Z2", "--json")
    rows = json.loads(out)
    assert all(r["ring"] == "Z2" for r in rows)
    assert len([r for r in rows if r["source"] == "alphatensor"]) == 20
    assert all(r["source"] in ("alphatensor", "alphaalgo improve") for r in rows)
    r444 = [r for r in rows if r["shape"] == [4, 4, 4]][0]
    assert r444["rank"] == 47 and r444["best_known"] == 47


def test_jax_programs_are_cached_in_the_users_cache_folder(tmp_path):
    """Commands point JAX's compilation cache at $XDG_CACHE_HOME/alphaalgo/jax, with a size
    (so processes share it under a lock), and JAX then writes its programs there."""
    from alphaalgo.cli._common import JAX_CACHE_MAX_BYTES, use_jax_cache

    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    folder = use_jax_cache(env)
    assert folder == str(tmp_path / "cache" / "alphaalgo" / "jax")
    assert env["JAX_COMPILATION_CACHE_DIR"] == folder
    assert env["JAX_COMPILATION_CACHE_MAX_SIZE"] == str(JAX_CACHE_MAX_BYTES)
    assert not (tmp_path / "cache").exists()          # nothing made until JAX compiles

    child = dict(os.environ, **env)
    prog = ("import jax, jax.numpy as jnp; "
            "jax.config.update('jax_persistent_cache_min_compile_time_secs', 0); "
            "print(int(jax.jit(lambda x: x * 3 + 1)(jnp.int32(2))))")
    res = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=child,
                         timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "7", res.stderr[-2000:]
    assert "persistent compilation cache" not in res.stderr
    assert any(Path(folder).iterdir())


@pytest.mark.parametrize("setting,expected", [("", None), ("/somewhere/else", "/somewhere/else")])
def test_a_jax_cache_setting_of_the_users_own_is_kept(setting, expected):
    from alphaalgo.cli._common import use_jax_cache

    env = {"JAX_COMPILATION_CACHE_DIR": setting, "XDG_CACHE_HOME": "/tmp"}
    assert use_jax_cache(env) == expected
    assert env == {"JAX_COMPILATION_CACHE_DIR": setting, "XDG_CACHE_HOME": "/tmp"}


def test_no_jax_cache_where_its_folder_cannot_be_made(tmp_path):
    from alphaalgo.cli._common import use_jax_cache

    (tmp_path / "a-file").write_text("")
    env = {"XDG_CACHE_HOME": str(tmp_path / "a-file")}
    assert use_jax_cache(env) is None and env == {"XDG_CACHE_HOME": str(tmp_path / "a-file")}
