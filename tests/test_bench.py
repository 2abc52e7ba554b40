"""Benchmarks against the vendor matmul, the store records and the speed score."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alphaalgo import bench, catalog, tensors
from alphaalgo.cli import main
from alphaalgo.store import Store

STRASSEN = str(catalog.kernels_dir() / "schemes" / "strassen-2x2x2-r7.json")
Z2 = str(catalog.kernels_dir() / "schemes" / "alphatensor-z2-2x2x2-r7.json")


def test_benchmark_numba_reports_times_errors_and_device():
    r = bench.benchmark(catalog.strassen(), "numba", (96, 80, 72), "float64", levels=1,
                        repeats=2, warmup=1)
    assert r.size == (96, 80, 72) and r.rank == 7 and r.levels == 1
    assert len(r.kernel_times) == len(r.vendor_times) == 2
    assert r.kernel_s > 0 and r.vendor_s > 0
    assert r.speedup == pytest.approx(r.vendor_s / r.kernel_s)
    assert r.max_rel_error < 1e-12 and r.vendor_max_rel_error < 1e-12
    assert r.checked_rows == 96
    assert r.scheme_hash == tensors.canonical_hash(catalog.strassen())
    assert r.device["cores"] >= 1 and r.device["cpu"] and r.device["blas"]
    assert r.device_key.startswith("cpu:")
    json.dumps(r.to_json())


def test_benchmark_jax_float32():
    pytest.importorskip("jax")
    r = bench.benchmark(catalog.winograd(), "jax", (50, 40, 30), "float32", repeats=1)
    assert r.max_rel_error < 1e-4 and r.device["jax_backend"]


def test_check_product_samples_rows_of_large_products(monkeypatch):
    monkeypatch.setattr(bench, "FULL_CHECK_MAX", 10)
    monkeypatch.setattr(bench, "CHECK_ROWS", 5)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 12)), rng.standard_normal((12, 7))
    good = a @ b
    bad = good.copy()
    bad[:, 0] += 1.0  # wrong in every row: any sample sees it
    (e_good, e_bad), rows = bench.check_product(a, b, [good, bad])
    assert rows == 5 and e_good < 1e-14 and e_bad > 1e-3


def test_benchmark_rejects_z2_and_bad_arguments():
    from alphaalgo.codegen import NotAMatmulAlgorithm

    z2 = catalog.load({e.id: e for e in catalog.find()}["alphatensor-z2-2x2x2-r7"])
    with pytest.raises(NotAMatmulAlgorithm):
        bench.benchmark(z2, "numba", (8, 8, 8))
    with pytest.raises(ValueError, match="dtype"):
        bench.benchmark(catalog.strassen(), "numba", (8, 8, 8), dtype="int8")
    with pytest.raises(ValueError, match="backend"):
        bench.benchmark(catalog.strassen(), "cuda", (8, 8, 8))


def test_estimate_speedup_cost_model():
    naive = tensors.naive_scheme(2, 2, 2)
    assert bench.estimate_speedup(naive, (4096,) * 3) == pytest.approx(1.0)
    big = bench.estimate_speedup(catalog.strassen(), (8192,) * 3)
    small = bench.estimate_speedup(catalog.strassen(), (64,) * 3)
    assert 1.0 < big < 8 / 7 and small < big
    # two levels save more multiplications at a large size
    assert bench.estimate_speedup(catalog.strassen(), (16384,) * 3, levels=2) > big


def test_record_and_speed_score(tmp_path):
    s = catalog.strassen()
    r = bench.benchmark(s, "numba", (64, 64, 64), repeats=1, warmup=0)
    with Store(tmp_path / "s.sqlite") as store:
        assert bench.speed_score(s, store=store) == pytest.approx(bench.estimate_speedup(s))
        bid = bench.record(store, s, r)
        assert bid >= 1
        got = store.find_benchmark(r.scheme_hash, r.device_key, "numba", (64, 64, 64), "float64", 1)
        assert got["speedup"] == pytest.approx(r.speedup)
        assert bench.speed_score(s, store=store) == pytest.approx(r.speedup)
        # another device has no measurement: the estimate
        assert bench.speed_score(s, store=store, device="gpu:none") == pytest.approx(
            bench.estimate_speedup(s))
        with pytest.raises(ValueError, match="another scheme"):
            bench.record(store, catalog.winograd(), r)


def test_measure_speed_times_once_per_device(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "SCORE_CONFIG", {"backend": "numba", "size": (48, 48, 48),
                                                "dtype": "float64", "levels": 1})
    with Store(tmp_path / "s.sqlite") as store:
        first = bench.measure_speed(catalog.winograd(), store, repeats=1)
        again = bench.measure_speed(catalog.winograd(), store, repeats=1)
        assert first == again
        assert len(store.benchmarks()) == 1
        assert bench.speed_score(catalog.winograd(), store=store) == pytest.approx(first)


def test_cli_bench_json_and_store(tmp_path, capsys):
    db = tmp_path / "b.sqlite"
    rc = main(["bench", STRASSEN, "--backend", "numba", "--size", "40,30,20", "--repeats", "1",
               "--json", "--store", str(db)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("speedup", "max_rel_error", "kernel_s", "vendor_s", "device", "store_id"):
        assert key in out
    assert out["size"] == [40, 30, 20] and out["max_rel_error"] < 1e-12
    with Store(db) as store:
        assert len(store.benchmarks()) == 1


def test_cli_bench_text(capsys):
    assert main(["bench", STRASSEN, "--backend", "numba", "--size", "33", "--repeats", "1",
                 "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "speedup" in out and "(33×33)·(33×33) float32" in out


@pytest.mark.parametrize("argv, message", [
    (["bench", Z2, "--backend", "numba", "--size", "8"], "not a matrix-multiplication"),
    (["bench", STRASSEN, "--backend", "numba", "--size", "8,8"], "size must be"),
    (["bench", STRASSEN, "--backend", "numba", "--size", "0"], "size must be"),
    (["bench", STRASSEN, "--backend", "numba", "--size", "8", "--repeats", "0"], "--repeats"),
    (["bench", STRASSEN, "--backend", "numba", "--size", "8", "--key", "nope"], "no scheme named"),
    (["bench", "missing.json", "--backend", "numba", "--size", "8"], "no such file"),
])
def test_cli_bench_bad_input_exits_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_compile_writes_source(tmp_path, capsys):
    out = tmp_path / "k.py"
    assert main(["compile", STRASSEN, "--backend", "numba", "--levels", "2", "--out", str(out)]) == 0
    assert "additions 18 written out" in capsys.readouterr().out
    text = out.read_text()
    assert "def matmul(a, b, out=None)" in text and "LEVELS = 2" in text
    jout = tmp_path / "j.py"
    assert main(["compile", STRASSEN, "--backend", "jax", "--out", str(jout)]) == 0
    assert "@jax.jit" in jout.read_text()


def test_cli_compile_refuses_z2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "k.py"
    assert main(["compile", Z2, "--backend", "numba", "--out", str(out)]) == 2
    assert "not a matrix-multiplication algorithm" in capsys.readouterr().err
    assert not out.exists()
    assert main(["compile", STRASSEN, "--backend", "numba", "--out", str(tmp_path / "k.txt")]) == 2
    assert main(["compile", STRASSEN, "--backend", "numba", "--levels", "0",
                 "--out", str(out)]) == 2
    assert not out.exists()


def test_cli_compile_key_picks_from_npz(tmp_path, capsys):
    from alphaalgo import formats

    npz = tmp_path / "two.npz"
    formats.write_schemes(npz, [formats.SchemeRecord("2,2,2", catalog.strassen()),
                                formats.SchemeRecord("4,4,4", tensors.kron(catalog.strassen(),
                                                                           catalog.strassen()))])
    out = tmp_path / "k.py"
    assert main(["compile", str(npz), "--backend", "numba", "--out", str(out)]) == 2
    assert "--key" in capsys.readouterr().err
    assert main(["compile", str(npz), "--key", "4,4,4", "--backend", "numba", "--out", str(out)]) == 0
    assert "⟨4,4,4⟩ rank 49" in out.read_text()
