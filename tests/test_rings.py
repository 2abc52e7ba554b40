"""Rings: exact checks in ZT, Z, Q, Q(i), Z2 and Z3, and the smallest-ring label."""

from __future__ import annotations

import numpy as np
import pytest

from alphaalgo import catalog, formats, tensors
from alphaalgo.tensors import Scheme


def test_labels_from_the_smallest_coefficient_set():
    s = catalog.strassen()
    assert tensors.verify(s).label == "ZT"
    two = Scheme(s.u * 2, s.v, s.w, shape=(2, 2, 2), denominators=(2, 1, 1))
    assert tensors.verify(two).label == "ZT"            # 2/2 is 1: the gcd is taken out
    big = Scheme(s.u * 3, s.v, s.w * 2, shape=(2, 2, 2), denominators=(2, 1, 3))  # (3/2)·(2/3)
    check = tensors.verify(big)
    assert check.valid and check.label == "Q" and check.denominators == (2, 3)
    assert "needs" not in check.describe() and "Q (denominators 2, 3)" in check.describe()


def test_rationals_are_not_valid_over_z():
    """The issue's first case: a scheme with ½ was reported 'valid over Z'."""
    s = catalog.strassen()
    half = Scheme(s.u, s.v * 2, s.w, shape=(2, 2, 2), denominators=(2, 1, 1))  # (u/2)·(2v)·w
    assert tensors.verify(half, "Q").valid and tensors.verify(half).label == "Q"
    bad = tensors.verify(half, "Z")
    assert not bad.valid and "non-integer" in bad.note
    assert not tensors.verify(half, "ZT").valid


def test_ternary_membership():
    s = catalog.strassen()
    doubled = Scheme(s.u * 2, s.v, s.w, shape=(2, 2, 2), denominators=(1, 1, 1))
    assert not tensors.verify(doubled).valid              # 2·T is not T
    two_minus = Scheme(s.u * 2, s.v, s.w * -1, shape=(2, 2, 2))
    assert not tensors.verify(two_minus, "ZT").valid


def test_mod_p_checks_accept_denominators_prime_to_p():
    s = catalog.strassen()
    third = Scheme(s.u * 3, s.v, s.w, shape=(2, 2, 2), denominators=(3, 1, 1))  # = s
    assert tensors.verify(third).label == "ZT"
    s3 = Scheme(s.u, s.v * 3, s.w, shape=(2, 2, 2), denominators=(1, 1, 3))  # u·(3v)·(w/3)
    assert tensors.verify(s3, "Z2").valid                   # 1/3 ≡ 1 mod 2
    z3 = tensors.verify(s3, "Z3")
    assert not z3.valid and "not invertible mod 3" in z3.note
    s2 = Scheme(s.u, s.v * 2, s.w, shape=(2, 2, 2), denominators=(1, 1, 2))
    assert tensors.verify(s2, "Z3").valid and not tensors.verify(s2, "Z2").valid


def test_z3_schemes_are_balanced_and_checked_mod_3():
    s = catalog.strassen()
    z3 = Scheme(s.u * 4, s.v, s.w, ring="Z3", shape=(2, 2, 2))   # 4 ≡ 1 mod 3
    assert set(np.unique(z3.u)) <= {-1, 0, 1}
    assert tensors.verify(z3).valid and tensors.verify(z3).label == "Z3"
    path_free = formats.parse_products(formats.format_products(z3), ring="Z3", shape=(2, 2, 2))
    assert tensors.canonical_form(path_free) == tensors.canonical_form(z3)


def test_a_mod_2_scheme_is_labelled_z2_only():
    z2 = catalog.strassen(ring="Z2")
    held = tensors.verify(z2)
    assert held.valid and held.label == "Z2"
    # The same 0/1 entries read as integers are not Strassen over Z.
    as_z = Scheme(z2.u, z2.v, z2.w, shape=(2, 2, 2))
    assert not tensors.verify(as_z).valid
    assert tensors.ring_label(as_z).label == "Z2"


@pytest.mark.parametrize("ring", tensors.RING_LABELS)
def test_every_ring_is_accepted_by_verify(ring):
    check = tensors.verify(catalog.strassen(), ring)
    assert check.valid and check.ring == ring


def test_kernels_refuse_what_the_reals_cannot_compute():
    from alphaalgo import codegen

    with pytest.raises(codegen.NotAMatmulAlgorithm, match="mod 2"):
        codegen.check_real(catalog.strassen(ring="Z2"))
    z3 = Scheme(catalog.strassen().u, catalog.strassen().v, catalog.strassen().w, ring="Z3",
                shape=(2, 2, 2))
    with pytest.raises(codegen.NotAMatmulAlgorithm, match="mod 3"):
        codegen.check_real(z3)
