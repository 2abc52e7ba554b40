"""Hensel lifting of Z2 schemes to Z, and the GF(2) algebra under it."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, formats, tensors
from alphaalgo.localsearch import gf2, lift, lift_any, search
from alphaalgo.localsearch.lifting import jacobian_mod2, rational_reconstruct


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


def test_rational_reconstruction_refuses_large_values():
    assert rational_reconstruct(2**39 + 12345, 2**40, 2**10) is None


# ------------------------------------------------------------------ lifting
def test_jacobian_matches_the_derivative_of_the_brent_equations():
    s = catalog.strassen("Z2")
    jac = jacobian_mod2(s).astype(np.int64)
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
