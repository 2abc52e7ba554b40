"""The package installs like a library: a wheel built from this checkout, installed
(not editable) into a fresh virtual environment, works from any directory — its
presets, shipped parameters and catalogue come with it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def test_the_wheel_installs_and_runs_anywhere(tmp_path):
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PYTHONPATH": ""}
    env.pop("ALPHAALGO_KERNELS", None)
    dist = tmp_path / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-w", dist, ROOT], env=env, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = dist.glob("alphaalgo-*.whl")

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", venv]).returncode == 0
    py, exe = venv / "bin" / "python", venv / "bin" / "alphaalgo"
    site = _run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # The dependencies (numpy, jax, ...) come from this environment, offline; alphaalgo
    # itself only from the wheel (this environment's editable hook is not a site dir there).
    Path(site, "deps_from_host.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = _run([py, "-m", "pip", "install", "--no-index", "--no-deps", wheel], env=env, timeout=600)
    assert inst.returncode == 0, inst.stdout[-2000:] + inst.stderr[-2000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([py, "-c", "import alphaalgo; print(alphaalgo.__file__)"], cwd=elsewhere, env=env)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    cat = _run([exe, "catalog", "--shape", "2,2,2"], cwd=elsewhere, env=env, timeout=300)
    assert cat.returncode == 0, cat.stderr
    assert "strassen" in cat.stdout and "winograd" in cat.stdout

    out = elsewhere / "found.json"
    disc = _run([exe, "discover", "--shape", "1,1,1", "--target-rank", "1", "--agent", "tiny",
                 "--time-limit", "120", "--store", elsewhere / "s.sqlite", "--out", out, "--quiet"],
                cwd=elsewhere, env=env, timeout=600)
    assert disc.returncode == 0, disc.stdout[-2000:] + disc.stderr[-2000:]
    assert _run([exe, "verify", out], cwd=elsewhere, env=env).returncode == 0
    # The shipped parameters are found too (a preset's companion file inside the package).
    params = _run([py, "-c", "from alphaalgo.presets import agents_dir; "
                   "print((agents_dir() / 'small-2x2x2-Z.npz').is_file())"], cwd=elsewhere, env=env)
    assert params.stdout.strip() == "True", params.stderr
