"""Tests of an exported kernel package (run with pytest from the package's folder)."""

import contextlib
import importlib

import numpy as np
import pytest

pkg = importlib.import_module("__PKG__")

SIZES = [(1, 1, 1), (7, 5, 3), (64, 64, 64), (97, 131, 75), (200, 128, 257)]


@pytest.mark.parametrize("name", sorted(pkg.KERNELS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_matches_numpy(name, dtype):
    info = pkg.KERNELS[name]
    ctx = contextlib.nullcontext
    if info["backend"] == "jax":
        pytest.importorskip("jax")
        import jax

        ctx = lambda: jax.enable_x64(dtype == "float64")  # noqa: E731
    mod = pkg.kernel(name)
    rng = np.random.default_rng(0)
    for m, k, n in SIZES:
        a = rng.uniform(-1, 1, (m, k)).astype(dtype)
        b = rng.uniform(-1, 1, (k, n)).astype(dtype)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        with ctx():
            got = np.asarray(mod.matmul(a, b), np.float64)
        tol = 1e-10 if dtype == "float64" else 1e-4
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() <= tol * max(1.0, np.abs(ref).max())


def test_matmul_dispatch_matches_numpy():
    rng = np.random.default_rng(1)
    for m, k, n in SIZES:
        a = rng.standard_normal((m, k))
        b = rng.standard_normal((k, n))
        assert np.allclose(pkg.matmul(a, b), a @ b, rtol=1e-10, atol=1e-10)


def test_select_follows_table():
    for row in pkg.TABLE:
        big = row["min_size"]
        assert pkg.select((big, big, big), row["dtype"], row["backend"], row["device"]) is not None
        if big > 1:
            smaller = [r for r in pkg.TABLE if r["device"] == row["device"]
                       and r["backend"] == row["backend"] and r["dtype"] == row["dtype"]
                       and r["min_size"] <= big - 1]
            got = pkg.select((big - 1,) * 3, row["dtype"], row["backend"], row["device"])
            assert (got is None) == (not smaller)
    assert pkg.select((8, 8, 8), "float64", "numba", "no-such-device") is None
