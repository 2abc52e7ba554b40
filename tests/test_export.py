"""The exported kernel package: contents, dispatch, refusals, and a real pip install."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from alphaalgo import catalog, export, tensors
from alphaalgo.cli import main

STRASSEN = str(catalog.kernels_dir() / "schemes" / "strassen-2x2x2-r7.json")
Z2 = str(catalog.kernels_dir() / "schemes" / "alphatensor-z2-2x2x2-r7.json")


def _run(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse errors
        return int(exc.code)


def _import_from(folder: Path, name: str):
    sys.path.insert(0, str(folder))
    try:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def test_crossovers():
    ms = [{"kernel": "k", "device": "d", "backend": "numba", "dtype": "float64", "size": (s, s, s),
           "speedup": sp} for s, sp in [(512, 0.5), (1024, 1.02), (2048, 0.99), (4096, 1.05),
                                       (8192, 1.12)]]
    rows = export.crossovers(ms)
    assert rows == [{"kernel": "k", "device": "d", "backend": "numba", "dtype": "float64",
                     "min_size": 4096, "speedup": 1.12}]
    assert export.crossovers([{**ms[0]}]) == []  # never faster: no row


def test_a_win_over_a_slowed_vendor_is_no_crossover():
    """numpy's small products slowed 100× by a busy machine: those 'wins' are left out, so the
    crossover is where the kernel really starts to win (512), not the smallest size (128)."""
    def m(size, speedup, vendor_s):
        return {"kernel": "k", "device": "d", "backend": "numba", "dtype": "float64",
                "size": (size, size, size), "speedup": speedup, "vendor_s": vendor_s}

    ms = [m(128, 20.0, 0.015), m(256, 3.0, 0.05), m(512, 1.02, 0.0018), m(1024, 1.05, 0.014)]
    assert export.vendor_slowed(ms) == [True, True, False, False]
    assert export.crossovers(ms)[0]["min_size"] == 512
    without = [{k: v for k, v in x.items() if k != "vendor_s"} for x in ms]
    assert export.vendor_slowed(without) == [False] * 4
    assert export.crossovers(without)[0]["min_size"] == 128


def test_default_export_imports_from_its_folder(tmp_path):
    out = tmp_path / "pkg"
    specs = export.build_specs(export.default_schemes()[:2])
    fake_device = "cpu:test-device x2"
    meas = [{"kernel": specs[1].name, "device": fake_device, "backend": "numba",
             "dtype": "float64", "size": (64, 64, 64), "speedup": 1.3}]
    export.write_package(out, specs, meas, name="mm_test_pkg")
    assert (out / "pyproject.toml").exists() and (out / "tests" / "test_mm_test_pkg.py").exists()
    pkg = _import_from(out, "mm_test_pkg")
    assert set(pkg.KERNELS) == {k.name for k in specs}
    for name, info in pkg.KERNELS.items():
        assert info["hash"] in {tensors.canonical_hash(k.scheme) for k in specs}
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((70, 65)), rng.standard_normal((65, 67))
    for name in pkg.KERNELS:
        assert np.allclose(pkg.kernel(name).matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert np.allclose(pkg.matmul(a, b), a @ b)
    # dispatch: the measured kernel at and above the crossover on its device, numpy below
    assert pkg.select((64, 64, 64), "float64", "numba", fake_device) == specs[1].name
    assert pkg.select((63, 64, 64), "float64", "numba", fake_device) is None
    assert pkg.select((64, 64, 64), "float32", "numba", fake_device) is None
    # the kernel source the package holds was verified and names its scheme
    text = (out / "mm_test_pkg" / "kernels" / f"{specs[0].name}.py").read_text()
    assert "verified exactly over Z" in text and "import alphaalgo" not in text


def test_export_dispatches_on_this_device(tmp_path):
    specs = export.build_specs([("s", catalog.strassen())])
    from alphaalgo.export_template._device import cpu_key

    meas = [{"kernel": specs[0].name, "device": cpu_key(), "backend": "numba",
             "dtype": "float64", "size": (32, 32, 32), "speedup": 1.2}]
    out = export.write_package(tmp_path / "p", specs, meas, name="mm_here_pkg")
    pkg = _import_from(out, "mm_here_pkg")
    assert pkg.select((40, 40, 40), "float64") == specs[0].name
    calls = []
    mod = pkg.kernel(specs[0].name)
    real = mod.matmul
    mod.matmul = lambda a, b: calls.append(a.shape) or real(a, b)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((40, 40)), rng.standard_normal((40, 40))
    assert np.allclose(pkg.matmul(a, b), a @ b)
    assert np.allclose(pkg.matmul(a[:20, :20], b[:20, :20]), a[:20, :20] @ b[:20, :20])
    assert calls == [(40, 40)]  # the small product went to numpy


def test_cli_export_with_store_measurements(tmp_path, capsys):
    from alphaalgo import bench
    from alphaalgo.store import Store

    db = tmp_path / "m.sqlite"
    with Store(db) as store:
        r = bench.benchmark(catalog.strassen(), "numba", (48, 48, 48), repeats=1, warmup=0)
        bench.record(store, catalog.strassen(), r)
    out = tmp_path / "pk"
    assert main(["export", "--out", str(out), "--scheme", STRASSEN, "--store", str(db),
                 "--name", "mm_cli_pkg"]) == 0
    assert "1 measurement(s)" in capsys.readouterr().out
    pkg = _import_from(out, "mm_cli_pkg")
    assert len(pkg.KERNELS) == 1
    assert len(pkg.TABLE) == (1 if r.speedup > 1 else 0)


@pytest.mark.parametrize("argv, message", [
    (["--scheme", Z2], "not a matrix-multiplication algorithm"),
    (["--name", "not-an-identifier"], "not a Python identifier"),
    (["--levels", "0"], "levels must be"),
    (["--scheme", "nope.json"], "no such file"),
])
def test_cli_export_bad_input_writes_nothing(tmp_path, argv, message, capsys):
    out = tmp_path / "pk"
    assert _run(["export", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_export_refuses_non_empty_folder(tmp_path, capsys):
    (tmp_path / "pk").mkdir()
    (tmp_path / "pk" / "keep.txt").write_text("x")
    assert main(["export", "--out", str(tmp_path / "pk"), "--scheme", STRASSEN]) == 2
    assert (tmp_path / "pk" / "keep.txt").read_text() == "x"


@pytest.mark.slow
def test_exported_package_installs_with_pip_and_its_tests_pass(tmp_path):
    """A fresh virtual environment; numpy/numba/pytest come from this one (offline)."""
    out = tmp_path / "pkg"
    assert main(["export", "--out", str(out), "--name", "mm_pip_pkg", "--levels", "1,2"]) == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # the dependencies: this environment's site-packages, visible through a .pth file
    Path(site, "host_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(py), "-m", "pip", "install", "--no-index", str(out)],
                   check=True, env=env, capture_output=True)
    check = subprocess.run([str(py), "-c", "import mm_pip_pkg, sys; print(mm_pip_pkg.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp_path)
    assert str(venv) in check.stdout  # imported from the install, not the folder
    tests = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(out / "tests")], capture_output=True, text=True, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_export_with_jax_kernels(tmp_path):
    jax = pytest.importorskip("jax")
    specs = export.build_specs([("w", catalog.winograd())], jax=True)
    assert sorted(k.backend for k in specs) == ["jax", "numba"]
    out = export.write_package(tmp_path / "pj", specs, name="mm_jax_pkg")
    pkg = _import_from(out, "mm_jax_pkg")
    jname = next(n for n, info in pkg.KERNELS.items() if info["backend"] == "jax")
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((33, 21)), rng.standard_normal((21, 17))
    with jax.enable_x64(True):
        got = np.asarray(pkg.kernel(jname).matmul(a, b))
        via = np.asarray(pkg.matmul(jax.numpy.asarray(a), jax.numpy.asarray(b)))  # vendor: no table
    assert np.allclose(got, a @ b, rtol=1e-12, atol=1e-12)
    assert np.allclose(via, a @ b, rtol=1e-12, atol=1e-12)
