"""Exact algebra of schemes: the target, verification and transformations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, tensors
from alphaalgo.tensors import Scheme


def test_matmul_tensor_is_the_trace_form():
    n, m, p = 2, 3, 4
    t = tensors.matmul_tensor(n, m, p)
    assert t.shape == (6, 12, 8)
    rng = np.random.default_rng(0)
    a, b, c = rng.integers(-5, 5, (n, m)), rng.integers(-5, 5, (m, p)), rng.integers(-5, 5, (p, n))
    # Σ T[x,y,z] a_x b_y c_z = tr(ABC), the defining property.
    assert np.einsum("xyz,x,y,z->", t.astype(np.int64), a.ravel(), b.ravel(), c.ravel()) \
        == np.trace(a @ b @ c)


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 2, 2), (2, 3, 4), (3, 1, 2)])
def test_naive_scheme_is_valid(shape):
    s = tensors.naive_scheme(*shape)
    assert s.rank == np.prod(shape)
    assert tensors.verify(s).valid


def test_strassen_and_winograd_are_valid_in_both_rings():
    for s in (catalog.strassen(), catalog.winograd()):
        assert s.rank == 7
        assert tensors.verify(s, "Z").valid
        assert tensors.verify(s, "Z2").valid


def test_a_changed_coefficient_is_located():
    s = catalog.strassen()
    u = s.u.copy()
    u[0, 0] += 1
    check = tensors.verify(s.replace(u=u))
    assert not check.valid
    assert check.wrong_entries > 0
    (a, b, c), expected, got = check.first_wrong[0]
    assert a == 0  # the changed row of u is A11
    assert expected != got


def test_rational_scheme_is_exact():
    # Halve u and double w: the same scheme over Q, still exactly valid.
    s = catalog.strassen()
    half = Scheme(s.u, s.v, s.w * 2, shape=(2, 2, 2), denominators=(2, 1, 1))
    assert half.denominators == (2, 1, 1)
    assert tensors.verify(half).valid
    # ... and 1/2 has no meaning mod 2.
    assert not tensors.verify(half, "Z2").valid
    off = Scheme(s.u, s.v, s.w * 2 + (np.arange(s.w.size).reshape(s.w.shape) == 0),
                 shape=(2, 2, 2), denominators=(2, 1, 1))
    check = tensors.verify(off)
    assert not check.valid and "/2" in check.first_wrong[0][2]


def test_denominator_is_reduced():
    s = catalog.strassen()
    assert Scheme(s.u * 4, s.v, s.w, shape=(2, 2, 2), denominators=(4, 1, 1)) == s


def test_large_coefficients_do_not_overflow():
    s = tensors.naive_scheme(1, 1, 1)
    big = 2**40
    # (2^40)·(2^40)·1 would wrap around in int64 arithmetic; the check must not.
    t = Scheme(s.u * big, s.v * big, s.w, shape=(1, 1, 1), denominators=(1, 1, 1))
    check = tensors.verify(t)
    assert not check.valid and check.first_wrong[0][2] == str(big * big)
    assert tensors.verify(Scheme(t.u, t.v, t.w, shape=(1, 1, 1), denominators=(big, big, 1))).valid


def test_bad_construction_is_refused():
    s = catalog.strassen()
    with pytest.raises(ValueError, match="shape"):
        Scheme(s.u, s.v, s.w, shape=(2, 2, 3))
    with pytest.raises(ValueError, match="rank"):
        Scheme(s.u, s.v[:, :6], s.w, shape=(2, 2, 2))
    with pytest.raises(ValueError, match="integer"):
        Scheme(s.u * 0.5, s.v, s.w, shape=(2, 2, 2))


def test_explicit_target():
    t = tensors.matmul_tensor(2, 2, 2).astype(np.int64) * 3
    s = catalog.strassen()
    assert tensors.verify(Scheme(s.u, s.v, s.w * 3, target=t)).valid
    assert not tensors.verify(Scheme(s.u, s.v, s.w, target=t)).valid


def test_slice_rank_bound():
    assert tensors.slice_rank_bound(tensors.matmul_tensor(2, 2, 2)) == 8
    assert tensors.slice_rank_bound(np.zeros((2, 2, 2), np.int8)) == 0


def test_addition_count_of_strassen_is_18():
    assert tensors.addition_count(catalog.strassen()) == 18
    assert tensors.addition_count(tensors.naive_scheme(2, 2, 2)) == 4


# ---------------------------------------------------------------- properties
SMALL = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


def _base_schemes():
    return st.one_of(
        st.just(catalog.strassen()), st.just(catalog.winograd()),
        SMALL.map(lambda s: tensors.naive_scheme(*s)))


@st.composite
def unimodular(draw, size: int) -> np.ndarray:
    """A random integer matrix of determinant ±1: a product of elementary moves."""
    mat = np.eye(size, dtype=np.int64)
    for _ in range(draw(st.integers(0, 4))):
        if size > 1:
            i, j = draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1))
            if i != j:
                mat[i] += draw(st.integers(-2, 2)) * mat[j]
        k = draw(st.integers(0, size - 1))
        if draw(st.booleans()):
            mat[k] *= -1
    perm = draw(st.permutations(range(size)))
    return mat[list(perm)]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), scheme=_base_schemes())
def test_basis_change_keeps_validity(data, scheme):
    n, m, p = scheme.shape
    mats = [data.draw(unimodular(k)) for k in (n, m, p)]
    out = tensors.change_basis(scheme, *mats)
    assert out.is_integral
    assert tensors.verify(out).valid


@settings(max_examples=20, deadline=None)
@given(data=st.data(), scheme=_base_schemes())
def test_basis_change_by_non_unimodular_matrices_is_exact_over_q(data, scheme):
    n, m, p = scheme.shape
    mats = [np.diag(data.draw(st.lists(st.sampled_from([1, -1, 2, 3]), min_size=k, max_size=k)))
            @ data.draw(unimodular(k)) for k in (n, m, p)]
    assert tensors.verify(tensors.change_basis(scheme, *mats)).valid


@settings(max_examples=30, deadline=None)
@given(scheme=_base_schemes(), turns=st.integers(0, 2), flip=st.booleans())
def test_rotation_and_transposition_keep_validity(scheme, turns, flip):
    out = scheme
    for _ in range(turns):
        out = tensors.rotate(out)
    if flip:
        out = tensors.transpose(out)
    assert tensors.verify(out).valid
    assert sorted(out.shape) == sorted(scheme.shape)


@settings(max_examples=15, deadline=None)
@given(a=_base_schemes(), b=_base_schemes())
def test_tensor_product_keeps_validity(a, b):
    k = tensors.kron(a, b)
    assert k.rank == a.rank * b.rank
    assert k.shape == tuple(x * y for x, y in zip(a.shape, b.shape))
    assert tensors.verify(k).valid


def test_z2_basis_change():
    s = catalog.strassen(ring="Z2")
    p = np.array([[1, 1], [1, 0]])  # det -1, invertible mod 2
    assert tensors.verify(tensors.change_basis(s, p, p, p)).valid
    with pytest.raises(ValueError, match="singular"):
        tensors.change_basis(s, np.array([[2, 1], [0, 1]]), p, p)  # det 2 ≡ 0 mod 2


@settings(max_examples=40, deadline=None)
@given(data=st.data(), scheme=_base_schemes())
def test_canonical_form_ignores_order_and_scalar_moves(data, scheme):
    order = data.draw(st.permutations(range(scheme.rank)))
    moved = tensors.permute_terms(scheme, order)
    signs = np.array(data.draw(st.lists(st.sampled_from([1, -1]), min_size=scheme.rank,
                                        max_size=scheme.rank)))
    scales = np.array(data.draw(st.lists(st.sampled_from([1, 2, 3]), min_size=scheme.rank,
                                         max_size=scheme.rank)))
    # u_r → s·k·u_r, v_r → s·v_r, w_r → w_r / k: the same products.
    moved = Scheme(moved.u * signs * scales, moved.v * signs, moved.w * (6 // scales),
                   shape=scheme.shape, denominators=(1, 1, 6))
    assert tensors.verify(moved).valid
    assert tensors.canonical_form(moved) == tensors.canonical_form(scheme)
    assert tensors.canonical_hash(moved) == tensors.canonical_hash(scheme)


def test_canonical_form_tells_different_schemes_apart():
    assert tensors.canonical_form(catalog.strassen()) != tensors.canonical_form(catalog.winograd())
    assert tensors.canonical_form(catalog.strassen()) != \
        tensors.canonical_form(catalog.strassen(ring="Z2"))


def test_fiber_terms_decompose_any_tensor_exactly():
    rng = np.random.default_rng(5)
    for _ in range(100):
        shape = tuple(int(x) for x in rng.integers(1, 6, 3))
        t = rng.integers(-3, 4, shape) * (rng.random(shape) < 0.3)
        u, v, w = tensors.fiber_terms(t)
        np.testing.assert_array_equal(np.einsum("ir,jr,kr->ijk", u, v, w), t)
        fewest = min(int(np.any(t != 0, axis=a).sum()) for a in range(3))
        assert u.shape[1] == fewest == tensors.fiber_count(t)
