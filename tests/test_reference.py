"""AlphaTensor's 113 published schemes: read safely, verified in the right ring."""

from __future__ import annotations

import numpy as np
import pytest

from alphaalgo import formats, tensors
from alphaalgo.tensors import Scheme


@pytest.fixture(scope="module")
def schemes_r(reference_dir):
    return formats.read_schemes(reference_dir / "factorizations_r.npz")


@pytest.fixture(scope="module")
def schemes_f2(reference_dir):
    return formats.read_schemes(reference_dir / "factorizations_f2.npz", ring="Z2")


def test_counts(schemes_r, schemes_f2):
    assert len(schemes_r) == 93 and len(schemes_f2) == 20


def test_all_valid_in_their_ring(schemes_r, schemes_f2):
    assert all(tensors.verify(r.scheme).valid for r in schemes_r)
    assert all(tensors.verify(r.scheme).valid for r in schemes_f2)


def test_float_schemes_are_held_as_exact_rationals(schemes_r):
    rational = [r for r in schemes_r if not r.scheme.is_integral]
    assert len(rational) >= 20
    assert all(d in (1, 2, 8) for r in rational for d in r.scheme.denominators)


def test_known_ranks(schemes_r, schemes_f2):
    ranks = {r.name: r.scheme.rank for r in schemes_r}
    assert ranks["2,2,2"] == 7 and ranks["3,3,3"] == 23 and ranks["4,4,4"] == 49
    assert {r.name: r.scheme.rank for r in schemes_f2}["4,4,4"] == 47


def _perturbed(scheme: Scheme, seed: int) -> Scheme:
    """The scheme with one coefficient changed by one unit (of its denominator)."""
    rng = np.random.default_rng(seed)
    which = rng.integers(3)
    mats = [scheme.u.copy(), scheme.v.copy(), scheme.w.copy()]
    mat = mats[which]
    row, col = rng.integers(mat.shape[0]), rng.integers(mat.shape[1])
    mat[row, col] += 1
    return Scheme(*mats, ring=scheme.ring, shape=scheme.shape, denominators=scheme.denominators)


def test_every_scheme_with_one_coefficient_changed_is_rejected(schemes_r, schemes_f2):
    for i, rec in enumerate(schemes_r + schemes_f2):
        assert not tensors.verify(_perturbed(rec.scheme, i)).valid, rec.name


def test_z2_schemes_fail_over_z_where_not_valid_there(schemes_f2):
    # Every one of AlphaTensor's mod-2 schemes uses 1+1 = 0 somewhere.
    for rec in schemes_f2:
        as_z = Scheme(rec.scheme.u, rec.scheme.v, rec.scheme.w, ring="Z", shape=rec.scheme.shape)
        assert tensors.verify(rec.scheme, "Z").valid == tensors.verify(as_z).valid
        assert not tensors.verify(rec.scheme, "Z").valid, rec.name
