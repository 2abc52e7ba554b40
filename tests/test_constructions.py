"""Moves between shapes: project, merge, extend, orientation, the best construction."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, constructions, tensors

RINGS = ["Z", "Z2"]
shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


def _scheme(shape, ring, seed):
    """A valid scheme of ``shape`` that is not the schoolbook one where a
    known lower rank exists (a short flip walk over ``ring``)."""
    from alphaalgo.localsearch import search

    start = tensors.naive_scheme(*shape, ring=ring)
    if start.rank < 4:
        return start
    return search(start, ring=ring, max_flips=20_000, seed=seed, method="flips").scheme


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, ring=st.sampled_from(RINGS), axis=st.integers(0, 2), seed=st.integers(0, 99),
       data=st.data())
def test_project_keeps_validity_and_never_adds_terms(shape, ring, axis, seed, data):
    if shape[axis] < 2:
        shape = tuple(2 if k == axis else x for k, x in enumerate(shape))
    s = _scheme(shape, ring, seed)
    index = data.draw(st.integers(0, shape[axis] - 1))
    t = constructions.project(s, axis, index)
    want = list(shape)
    want[axis] -= 1
    assert t.shape == tuple(want) and t.rank <= s.rank
    assert tensors.verify(t, ring).valid


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=shapes, extra=st.integers(1, 2), ring=st.sampled_from(RINGS), axis=st.integers(0, 2),
       seed=st.integers(0, 99))
def test_merge_and_extend_keep_validity(a, extra, ring, axis, seed):
    b = list(a)
    b[axis] = extra
    sa, sb = _scheme(a, ring, seed), _scheme(tuple(b), ring, seed + 1)
    m = constructions.merge(sa, sb, axis)
    assert m.rank == sa.rank + sb.rank and tensors.verify(m, ring).valid
    assert m.shape[axis] == a[axis] + extra
    e = constructions.extend(sa, axis)
    other = [x for k, x in enumerate(a) if k != axis]
    assert e.rank == sa.rank + other[0] * other[1] and tensors.verify(e, ring).valid


@pytest.mark.parametrize("shape", [(2, 3, 4), (4, 3, 2), (3, 2, 4), (2, 4, 3)])
def test_as_shape_reaches_every_orientation(shape):
    s = _scheme((2, 3, 4), "Z", 0)
    t = constructions.as_shape(s, shape)
    assert t.shape == shape and t.rank == s.rank and tensors.verify(t, "Z").valid


def test_best_construction_picks_the_lowest_rank():
    strassen = catalog.strassen("Z")
    # ⟨2,2,4⟩: Strassen merged with itself along p (14) beats Strassen extended twice
    got = constructions.best_construction((2, 2, 4), [strassen], "Z")
    assert got is not None and got.rank == 14 and tensors.verify(got, "Z").valid
    # ⟨2,4,2⟩ from the same scheme (another orientation of the merge)
    got = constructions.best_construction((2, 4, 2), [strassen], "Z")
    assert got.rank == 14 and got.shape == (2, 4, 2)
    # a projection of ⟨4,4,4⟩ 49 (Strassen ⊗ Strassen) to ⟨3,4,4⟩ is valid and below 4·4·3
    big = tensors.kron(strassen, strassen)
    got = constructions.best_construction((3, 4, 4), [big], "Z")
    assert got.shape == (3, 4, 4) and got.rank < 48 and tensors.verify(got, "Z").valid
    assert constructions.best_construction((5, 5, 5), [strassen], "Z2") is None


def test_walk_starts_add_the_best_projection_when_it_is_another_scheme():
    strassen, wide = catalog.strassen("Z2"), tensors.naive_scheme(2, 2, 3, ring="Z2")
    low, proj = constructions.walk_starts((2, 2, 2), [strassen, wide], "Z2")
    assert low.rank == 7 and proj.rank == 8 and tensors.verify(proj, "Z2").valid
    (only,) = constructions.walk_starts((2, 2, 2), [wide], "Z2")   # the projection is the lowest
    assert only.rank == 8
    assert constructions.walk_starts((5, 5, 5), [strassen], "Z2") == []


def test_best_construction_takes_tensor_products():
    from alphaalgo.localsearch import search

    strassen = catalog.strassen("Z")
    # ⟨4,4,4⟩ from Strassen alone: only its square, 49 terms, makes that shape
    got = constructions.best_construction((4, 4, 4), [strassen], "Z")
    assert got.shape == (4, 4, 4) and got.rank == 49 and tensors.verify(got, "Z").valid
    # ⟨6,6,6⟩: Strassen ⊗ a ⟨3,3,3⟩ 23 the walk finds (161) beats any merge of the two
    s23 = search(tensors.naive_scheme(3, 3, 3, ring="Z2"), target_rank=23, max_flips=5_000_000,
                 seed=9).scheme
    assert s23.rank == 23
    got = constructions.best_construction((6, 6, 6), [catalog.strassen("Z2"), s23], "Z2")
    assert got.shape == (6, 6, 6) and got.rank == 7 * 23 and tensors.verify(got, "Z2").valid
    # a product needs both factors' shapes to multiply to the wanted one, in some orientation
    got = constructions.best_construction((2, 4, 6), [strassen, tensors.naive_scheme(1, 2, 3)], "Z")
    assert got.shape == (2, 4, 6) and tensors.verify(got, "Z").valid and got.rank <= 7 * 6


def test_bad_moves_are_refused():
    s = catalog.strassen("Z")
    with pytest.raises(ValueError, match="do not agree"):
        constructions.merge(s, tensors.naive_scheme(3, 3, 1), "p")
    with pytest.raises(ValueError, match="cannot drop"):
        constructions.project(tensors.naive_scheme(1, 2, 2), "n", 0)
    with pytest.raises(ValueError, match="axis must be"):
        constructions.extend(s, "q")
