"""Hensel lifting of Z2 and Z3 schemes to Z, and the GF(2) and GF(3) algebra under it."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, formats, tensors
from alphaalgo.localsearch import SearchConfig, Walker, gf2, gf3, lift, lift_any, search
from alphaalgo.localsearch.lifting import integral_form, jacobian, rational_reconstruct
from alphaalgo.tensors import Scheme


# -------------------------------------------------------------------- GF(2)
@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), data=st.data())
def test_gf2_solve_agrees_with_brute_force(rows, cols, data):
    a = np.array(data.draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols)),
                 dtype=bool).reshape(rows, cols)
    b = np.array(data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=np.uint8)
    x = gf2.eliminate(a).solve(b)
    solvable = any(np.array_equal((a.astype(int) @ np.array(c)) % 2, b)
                   for c in itertools.product((0, 1), repeat=cols))
    assert (x is not None) == solvable
    if x is not None:
        assert np.array_equal((a.astype(int) @ x.astype(int)) % 2, b)


def test_gf2_rank_and_wide_matrices():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=(70, 130)).astype(bool)
    elim = gf2.eliminate(a)
    assert elim.rank == 70  # 70 random rows of 130 bits are independent (fails w.p. ~2**-60)
    b = (a.astype(int) @ rng.integers(0, 2, 130)) % 2
    x = elim.solve(b)
    assert x is not None and np.array_equal((a.astype(int) @ x) % 2, b)


# -------------------------------------------------------------------- GF(3)
@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), data=st.data())
def test_gf3_solve_agrees_with_brute_force(rows, cols, data):
    a = np.array(data.draw(st.lists(st.integers(0, 2), min_size=rows * cols,
                                    max_size=rows * cols))).reshape(rows, cols)
    b = np.array(data.draw(st.lists(st.integers(0, 2), min_size=rows, max_size=rows)))
    x = gf3.eliminate(a).solve(b)
    solvable = any(np.array_equal((a @ np.array(c)) % 3, b)
                   for c in itertools.product((0, 1, 2), repeat=cols))
    assert (x is not None) == solvable
    if x is not None:
        assert np.array_equal((a @ x.astype(int)) % 3, b)


def test_gf3_rank_and_wide_matrices():
    """Rows and columns across word boundaries; negative entries are read mod 3."""
    rng = np.random.default_rng(0)
    a = rng.integers(-1, 2, size=(70, 130))
    elim = gf3.eliminate(a)
    assert elim.rank == 70  # 70 random rows over GF(3) are independent (fails w.p. ~3**-60)
    b = (a @ rng.integers(0, 3, 130)) % 3
    x = elim.solve(b)
    assert x is not None and np.array_equal((a @ x.astype(int)) % 3, b)
    assert gf3.eliminate(np.array([[1, 2], [2, 1]])).solve(np.array([1, 1])) is None


# -------------------------------------------------- rational reconstruction
@settings(max_examples=200, deadline=None)
@given(a=st.integers(-1000, 1000), b=st.integers(0, 500))
def test_rational_reconstruction_recovers_small_fractions(a, b):
    b = 2 * b + 1  # odd: a 2-adic unit
    modulus = 2**40
    x = a * pow(b, -1, modulus) % modulus
    got = rational_reconstruct(x, modulus, 2**19)
    f = Fraction(a, b)
    assert got == (f.numerator, f.denominator)


@settings(max_examples=100, deadline=None)
@given(a=st.integers(-1000, 1000), b=st.integers(1, 1000))
def test_rational_reconstruction_mod_powers_of_3(a, b):
    if b % 3 == 0:
        b += 1  # a 3-adic unit
    modulus = 3**17
    x = a * pow(b, -1, modulus) % modulus
    f = Fraction(a, b)
    assert rational_reconstruct(x, modulus, 8000, prime=3) == (f.numerator, f.denominator)


def test_rational_reconstruction_refuses_large_values():
    assert rational_reconstruct(2**39 + 12345, 2**40, 2**10) is None


# ------------------------------------------------------------------ lifting
def test_jacobian_matches_the_derivative_of_the_brent_equations():
    s = catalog.strassen("Z2")
    jac = jacobian(s, 2).astype(np.int64)
    rng = np.random.default_rng(1)
    d = rng.integers(0, 2, size=jac.shape[1])
    s1, s2, s3 = s.sizes
    r = s.rank
    du = d[:s1 * r].reshape(s1, r)
    dv = d[s1 * r:(s1 + s2) * r].reshape(s2, r)
    dw = d[(s1 + s2) * r:].reshape(s3, r)
    u, v, w = s.u, s.v, s.w
    lin = (np.einsum("ar,br,cr->abc", du, v, w) + np.einsum("ar,br,cr->abc", u, dv, w)
           + np.einsum("ar,br,cr->abc", u, v, dw))
    assert np.array_equal((jac @ d) % 2, lin.ravel() % 2)


def test_jacobian_mod_3_matches_the_derivative_of_the_brent_equations():
    s = catalog.winograd("Z")
    jac = jacobian(s, 3).astype(np.int64)
    rng = np.random.default_rng(2)
    d = rng.integers(0, 3, size=jac.shape[1])
    s1, s2, s3 = s.sizes
    r = s.rank
    du, dv, dw = (d[:s1 * r].reshape(s1, r), d[s1 * r:(s1 + s2) * r].reshape(s2, r),
                  d[(s1 + s2) * r:].reshape(s3, r))
    u, v, w = s.u, s.v, s.w
    lin = (np.einsum("ar,br,cr->abc", du, v, w) + np.einsum("ar,br,cr->abc", u, dv, w)
           + np.einsum("ar,br,cr->abc", u, v, dw))
    assert np.array_equal((jac @ d) % 3, lin.ravel() % 3)


def test_integral_form_undoes_a_rescaling_of_terms():
    """2·u_0 ⊗ v_0/2 ⊗ w_0 is Strassen's first term: held with denominators, the
    integral form is an integer scheme again; a real half stays a fraction."""
    s = catalog.strassen("Z")
    u = s.u.copy()
    u[:, 0] *= 2
    v = 2 * s.v
    v[:, 0] = s.v[:, 0]
    scaled = Scheme(u, v, s.w, ring="Z", shape=s.shape, denominators=(1, 2, 1))
    assert tensors.verify(scaled, "Q").valid and not scaled.is_integral
    back = integral_form(scaled)
    assert back is not None and back.is_integral and tensors.verify(back, "Z").valid
    half = Scheme(s.u, s.v, s.w, ring="Z", shape=s.shape, denominators=(2, 1, 1))
    assert integral_form(half) is None


@settings(max_examples=20, deadline=None)
@given(shape=st.sampled_from([(2, 2, 2), (2, 2, 3), (2, 3, 3)]), seed=st.integers(0, 2**32),
       plateau=st.integers(1, 300))
def test_z3_walks_keep_schemes_valid_and_lift_to_verified_schemes(shape, seed, plateau):
    """The ternary kernels mod 3: flips, reductions and plus transitions keep the
    scheme valid over Z3; a lift, when there is one, is verified over Q and
    reduces to the walked scheme mod 3."""
    start = tensors.naive_scheme(*shape, ring="Z3")
    w = Walker(start, "Z3", start.rank + 4, seed)
    w.run(20_000, plateau=plateau, max_rank=start.rank + 2)
    s = w.scheme()
    assert s.ring == "Z3" and tensors.verify(s, "Z3").valid and s.rank <= start.rank + 2
    res = lift(s, prime=3)
    if res.lifted:
        assert tensors.verify(res.scheme, "Q").valid
        assert tensors.verify(res.scheme, "Z3").valid


def test_a_scheme_with_a_coefficient_2_lifts_from_z3_to_a_rational_scheme():
    """2 ≡ −1 mod 3: the lift keeps −1 and pays with halves (Q, not Z)."""
    s = catalog.strassen("Z")
    u = s.u.copy()
    u[:, 0] *= 2
    w = s.w.copy()
    v = s.v.copy()
    # 2·u_0 ⊗ v_0 ⊗ w_0 − u_0 ⊗ v_0 ⊗ w_0 is the first term again: rank 8, coefficient 2
    twice = Scheme(np.concatenate([u, -s.u[:, :1]], 1), np.concatenate([v, s.v[:, :1]], 1),
                   np.concatenate([w, s.w[:, :1]], 1), ring="Z", shape=s.shape)
    assert tensors.verify(twice, "Z").valid and twice.max_abs_coefficient() == 2
    mod3, _ = tensors.as_ring(twice, "Z3")
    assert not tensors.verify(mod3.replace(ring="Z"), "Z").valid
    res = lift(mod3, prime=3)
    assert res.lifted and tensors.verify(res.scheme, "Q").valid


def test_search_by_z3_walks_returns_integer_schemes():
    """``method="lift3"``: the walk is over Z3 and only lifts that are integer
    schemes count, so the result is verified over Z."""
    cfg = SearchConfig(restart_after=20_000, chunk=20_000)
    res = search(tensors.naive_scheme(2, 2, 2), ring="Z", target_rank=7, max_flips=3_000_000,
                 seed=4, method="lift3", config=cfg)
    assert res.scheme.ring == "Z" and res.scheme.is_integral
    assert tensors.verify(res.scheme, "Z").valid and res.scheme.rank <= 8
    assert res.walk_rank == 7


@pytest.mark.parametrize("scheme", [catalog.strassen("Z"), catalog.winograd("Z")])
def test_strassen_and_winograd_mod_2_lift(scheme):
    mod2 = scheme.replace(ring="Z2")
    assert not tensors.verify(mod2, "Z").valid  # reduced mod 2 it is not a Z scheme
    res = lift(mod2)
    assert res.lifted and res.reason == ""
    assert res.scheme.ring == "Z" and res.scheme.rank == 7 and res.scheme.is_integral
    assert tensors.verify(res.scheme, "Z").valid
    back = res.scheme.replace(ring="Z2")
    assert np.array_equal(back.u, mod2.u) and np.array_equal(back.w, mod2.w)


def test_schemes_found_over_z2_lift():
    res = search(tensors.naive_scheme(3, 3, 3, ring="Z2"), target_rank=23, max_flips=5_000_000,
                 seed=9)
    assert res.scheme.rank == 23
    lifted, attempts = lift_any(res.pool)
    assert lifted is not None and lifted.rank == 23 and tensors.verify(lifted, "Z").valid
    assert attempts[-1].lifted


def test_a_z_scheme_lifts_to_itself_when_already_valid():
    s = tensors.naive_scheme(2, 2, 3, ring="Z2")
    res = lift(s)
    assert res.lifted and res.scheme == s.replace(ring="Z")


def test_alphatensor_444_rank_47_does_not_lift(reference_dir):
    recs = {r.name: r.scheme for r in formats.read_schemes(
        reference_dir / "factorizations_f2.npz", ring="Z2")}
    s47 = recs["4,4,4"]
    assert s47.rank == 47
    res = lift(s47)
    assert not res.lifted and res.scheme is None
    assert "no solution" in res.reason and res.level == 1
    ok = lift(recs["3,4,5"])  # the same file's ⟨3,4,5⟩ rank 47 does lift
    assert ok.lifted and tensors.verify(ok.scheme, "Z").valid


def test_lift_refuses_invalid_input():
    s = catalog.strassen("Z2")
    w = s.w.copy()
    w[0, 0] ^= 1
    with pytest.raises(ValueError, match="not valid over Z2"):
        lift(s.replace(w=w))
    with pytest.raises(ValueError, match="bits"):
        lift(s, bits=80)
