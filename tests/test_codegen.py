"""Kernels generated from schemes: Numba (CPU) and JAX (its CPU backend here)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, tensors
from alphaalgo.codegen import (NotAMatmulAlgorithm, addition_counts, compile_kernel, cse,
                               kernel_source, level_plan, load_source)
from alphaalgo.codegen import runtime_numba as rt

# A representative subset of kernels/: Strassen, Winograd, a rational AlphaTensor
# scheme (coefficients ±1/2), a non-square one; all of kernels/ in the slow test.
SUBSET = ["strassen-2x2x2-r7", "winograd-2x2x2-r7", "alphatensor-z-3x4x11-r103",
          "alphatensor-z-2x3x4-r20"]
SIZES = [(37, 41, 53), (64, 64, 64), (130, 67, 99), (5, 3, 2)]


def _entry(ident):
    return {e.id: e for e in catalog.find()}[ident]


def _scheme(ident):
    return catalog.load(_entry(ident))


def _error(c, a, b):
    ref = a.astype(np.float64) @ b.astype(np.float64)
    return float(np.abs(np.asarray(c, np.float64) - ref).max() / max(np.abs(ref).max(), 1e-300))


def _inputs(m, k, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (m, k)).astype(dtype), rng.uniform(-1, 1, (k, n)).astype(dtype))


def test_rational_scheme_in_subset_is_rational():
    assert not _scheme("alphatensor-z-3x4x11-r103").is_integral


@pytest.mark.parametrize("ident", SUBSET)
def test_numba_kernel_matches_numpy(ident):
    s = _scheme(ident)
    mod = compile_kernel(s, "numba", 1, leaf_min=2)
    n, m, p = s.shape
    sizes = SIZES + [(n * 8, m * 8, p * 8), (n * 8 + 1, m * 8 + 2, p * 8 + 3)]
    for dtype, tol in (("float64", 1e-12), ("float32", 1e-4)):
        for (mm, kk, nn) in sizes:
            a, b = _inputs(mm, kk, nn, dtype)
            c = mod.matmul(a, b)
            assert c.dtype == np.dtype(dtype) and c.shape == (mm, nn)
            assert _error(c, a, b) < tol, (ident, dtype, (mm, kk, nn))


def test_numba_two_levels_and_mixed_levels():
    s, w = catalog.strassen(), catalog.winograd()
    for schemes in ([s, s], [s, w], [w, w, s]):
        mod = compile_kernel(schemes, "numba", leaf_min=2)
        for size in [(64, 64, 64), (67, 45, 91), (33, 130, 17)]:
            a, b = _inputs(*size, "float64", seed=3)
            assert _error(mod.matmul(a, b), a, b) < 1e-12


def test_numba_out_argument_and_bad_operands():
    mod = compile_kernel(catalog.strassen(), "numba", 1, leaf_min=2)
    a, b = _inputs(40, 30, 20, "float64")
    out = np.full((40, 20), np.nan)
    assert mod.matmul(a, b, out) is out
    assert _error(out, a, b) < 1e-12
    with pytest.raises(ValueError, match="inner sizes"):
        mod.matmul(a, a)
    with pytest.raises(ValueError, match="out must be"):
        mod.matmul(a, b, np.empty((40, 20), np.float32))
    # integer inputs are multiplied in float64
    ai, bi = np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2)
    assert np.array_equal(mod.matmul(ai, bi), (ai @ bi).astype(np.float64))


def test_numba_kernel_refuses_what_it_cannot_compute_and_aliasing():
    mod = compile_kernel(catalog.strassen(), "numba", 1, leaf_min=2)
    a, b = _inputs(40, 30, 20, "float64")
    for bad in (a.astype(np.complex128), a.astype(str), np.zeros(a.shape, "datetime64[s]"),
                a.astype(object)):
        with pytest.raises(TypeError, match="real numbers"):
            mod.matmul(bad, b)
    sq, sq2 = _inputs(32, 32, 32, "float64")
    for out in (sq, sq2, sq[:, :]):
        with pytest.raises(ValueError, match="shares memory"):
            mod.matmul(sq, sq2, out)


def test_numba_kernel_gives_numpys_result_for_inf_and_nan():
    """A fast algorithm's sums would spread inf/NaN to entries numpy leaves finite;
    such inputs go to numpy.matmul, so the pattern is numpy's exactly."""
    mod = compile_kernel(catalog.strassen(), "numba", 2, leaf_min=2)
    a, b = _inputs(64, 64, 64, "float64", seed=5)
    a[3, 7], b[10, 2], b[20, 30] = np.nan, np.inf, -np.inf
    got, want = mod.matmul(a, b), np.matmul(a, b)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got[~np.isnan(want)], want[~np.isnan(want)])


def test_gemm_fallback_without_cblas(monkeypatch):
    """Where numpy's BLAS does not expose cblas, gemm goes through numpy."""
    monkeypatch.setattr(rt, "_CBLAS", {"none": True})
    mod = compile_kernel(catalog.winograd(), "numba", 2, leaf_min=2)
    a, b = _inputs(45, 38, 29, "float32")
    assert _error(mod.matmul(a, b), a, b) < 1e-4


def test_parallel_passes_and_small_batches_match(monkeypatch):
    monkeypatch.setattr(rt, "PARALLEL_MIN", 1)
    monkeypatch.setattr(rt, "PHASE_BYTES", 1)  # one product per batch
    mod = compile_kernel(catalog.strassen(), "numba", 1, leaf_min=2)
    a, b = _inputs(70, 66, 90, "float64")
    assert _error(mod.matmul(a, b), a, b) < 1e-12


@pytest.mark.parametrize("bands", [False, True])
def test_combine_writes_and_accumulates_several_blocks_in_one_pass(bands, monkeypatch):
    """The fused pass behind operand sums and the sum into C, against numpy."""
    if bands:
        monkeypatch.setattr(rt, "PARALLEL_MIN", 1)   # cut into row bands on the kernel's threads
    rng = np.random.default_rng(7)
    src = rng.standard_normal((6, 10))                # blocks of 3 × 5: (0,0) (0,1) (1,0) (1,1)
    dst = rng.standard_normal((3, 16))                # blocks of 3 × 5 at columns 0, 5, 10 (ld 16)
    before = dst.copy()
    s, d = rt.Mat.of(src), rt.Mat.of(dst)
    blk = {(i, j): i * 3 * 10 + j * 5 for i in range(2) for j in range(2)}
    outputs = [(0, False, ((blk[0, 0], 1.0), (blk[1, 1], -2.0))),
               (5, True, ((blk[0, 1], 0.5),)),
               (10, False, ((blk[1, 0], 1.0), (blk[0, 1], 1.0), (blk[1, 1], 3.0)))]
    rt.combine(d, outputs, s, 3, 5)
    b = {k: src[k[0] * 3:k[0] * 3 + 3, k[1] * 5:k[1] * 5 + 5] for k in blk}
    np.testing.assert_allclose(dst[:, 0:5], b[0, 0] - 2 * b[1, 1])
    np.testing.assert_allclose(dst[:, 5:10], before[:, 5:10] + 0.5 * b[0, 1])
    np.testing.assert_allclose(dst[:, 10:15], b[1, 0] + b[0, 1] + 3 * b[1, 1])
    np.testing.assert_array_equal(dst[:, 15], before[:, 15])   # outside every block: untouched


@pytest.mark.parametrize("tasks", [True, False])
def test_task_parallel_and_sequential_products_agree(tasks, monkeypatch):
    """Products as tasks (one BLAS thread each) or one after another: same results.

    ⟨4,4,4⟩ rank 49 has several single-target products per C block (buffered in task mode).
    """
    monkeypatch.setattr(rt, "TASKS", tasks)
    if tasks and "set_threads" not in rt._load_cblas():
        pytest.skip("this BLAS does not expose its thread count")
    threads = rt._load_cblas()["get_threads"]() if "get_threads" in rt._load_cblas() else None
    s = _scheme("alphatensor-z-4x4x4-r49")
    for schemes, size in (([s], (130, 67, 99)), ([catalog.strassen()] * 2, (101, 64, 77))):
        mod = compile_kernel(schemes, "numba", leaf_min=2)
        a, b = _inputs(*size, "float64", seed=5)
        assert _error(mod.matmul(a, b), a, b) < 1e-12
    if threads is not None:
        assert rt._load_cblas()["get_threads"]() == threads  # the BLAS's thread count is restored


def test_standalone_numba_source_runs_without_alphaalgo_runtime(tmp_path):
    src = kernel_source(catalog.winograd(), "numba", 2, standalone=True, leaf_min=2)
    assert "alphaalgo" not in "".join(l for l in src.splitlines() if l.startswith(("import", "from")))
    assert "def matmul(a, b, out=None)" in src
    assert "m6 = (-a11 + a21 + a22)·(b11 - b12 + b22)" in src  # readable: one comment per product
    mod = load_source(src, directory=tmp_path)
    a, b = _inputs(50, 61, 47, "float64")
    assert _error(mod.matmul(a, b), a, b) < 1e-12


def test_large_schemes_are_tables_without_comments():
    s = _scheme("alphatensor-z-3x4x11-r103")
    src = kernel_source(s, "numba", 1)
    assert "_PRODUCTS0" in src and "# m1 = " not in src
    small = kernel_source(catalog.strassen(), "numba", 1)
    assert small.count("# m") == 7 and "# m7 = (a12 - a22)·(b21 + b22) → c11 += m7" in small


def test_z2_scheme_is_refused():
    s = _scheme("alphatensor-z2-2x2x2-r7")
    assert tensors.verify(s).valid and not tensors.verify(s, "Z").valid
    for backend in ("numba", "jax"):
        with pytest.raises(NotAMatmulAlgorithm, match="not a matrix-multiplication algorithm"):
            kernel_source(s, backend, 1)


def test_invalid_scheme_is_refused():
    s = catalog.strassen()
    broken = s.replace(u=np.where(np.arange(s.u.size).reshape(s.u.shape) == 0, 1 - s.u, s.u))
    with pytest.raises(NotAMatmulAlgorithm):
        level_plan(broken)


def test_addition_counts_winograd_and_strassen():
    assert addition_counts(catalog.winograd()) == {"written_out": 24, "shared": 15}
    assert addition_counts(catalog.strassen()) == {"written_out": 18, "shared": 18}
    s = _scheme("alphatensor-z-4x4x4-r49")
    counts = addition_counts(s)
    assert counts["written_out"] == tensors.addition_count(s)
    assert counts["shared"] < counts["written_out"]


def _evaluate(prog: cse.Program, x: np.ndarray) -> np.ndarray:
    vals = list(x)
    for terms in prog.temps:
        vals.append(sum(c * vals[v] for v, c in terms))
    return np.array([sum(c * vals[v] for v, c in f) for f in prog.outputs])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.integers(0, 5), st.sampled_from([-2.0, -1.0, 0.5, 1.0, 2.0]),
                                min_size=1, max_size=6), min_size=1, max_size=12),
       st.integers(0, 2**31 - 1))
def test_cse_program_computes_the_forms(forms, seed):
    prog = cse.optimize(forms, 6)
    x = np.random.default_rng(seed).standard_normal(6)
    want = np.array([sum(c * x[v] for v, c in f.items()) for f in forms])
    assert np.allclose(_evaluate(prog, x), want)
    assert prog.additions <= cse.naive_additions(forms)


@pytest.fixture(scope="module")
def x64():
    jax = pytest.importorskip("jax")
    return lambda: jax.enable_x64(True)


@pytest.mark.parametrize("ident", ["strassen-2x2x2-r7", "winograd-2x2x2-r7",
                                   "alphatensor-z-3x4x11-r103", "alphatensor-z-2x3x4-r20"])
def test_jax_kernel_matches_numpy(ident, x64):
    s = _scheme(ident)
    mod = compile_kernel(s, "jax", 1)
    for (mm, kk, nn) in [(37, 41, 53), (66, 48, 44)]:
        a, b = _inputs(mm, kk, nn, "float32")
        c = np.asarray(mod.matmul(a, b))
        assert c.dtype == np.float32 and _error(c, a, b) < 1e-4
        a, b = _inputs(mm, kk, nn, "float64")
        with x64():
            c = np.asarray(mod.matmul(a, b))
        assert c.dtype == np.float64 and _error(c, a, b) < 1e-12


def test_jax_two_levels_and_source(x64):
    src = kernel_source(catalog.winograd(), "jax", 2)
    assert "precision=HIGHEST" in src and "@jax.jit" in src
    mod = compile_kernel(catalog.winograd(), "jax", 2)
    a, b = _inputs(45, 38, 29, "float64")
    with x64():
        assert _error(np.asarray(mod.matmul(a, b)), a, b) < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numba", "jax"])
def test_every_shipped_scheme_compiles_and_matches(backend):
    """All of kernels/: Z schemes match numpy on odd sizes; Z2-only ones are refused."""
    import contextlib

    import jax

    for entry in catalog.find():
        s = catalog.load(entry)
        if not tensors.verify(s, "Z").valid:
            with pytest.raises(NotAMatmulAlgorithm):
                kernel_source(s, backend, 1)
            continue
        n, m, p = s.shape
        mod = compile_kernel(s, backend, 1, leaf_min=2)
        ctx = (lambda: jax.enable_x64(True)) if backend == "jax" else contextlib.nullcontext
        a, b = _inputs(2 * n + 1, 2 * m + 3, 2 * p + 2, "float64")
        with ctx():
            assert _error(np.asarray(mod.matmul(a, b)), a, b) < 1e-10, entry.id
