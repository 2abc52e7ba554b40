"""Symmetric flip graphs: cyclic-invariant schemes of ⟨n,n,n⟩ walked by orbit flips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, formats, tensors
from alphaalgo.localsearch import SearchConfig, search, symmetric
from cli_run import run


@pytest.mark.parametrize("n, blocks", [(2, None), (3, None), (4, None), (5, None),
                                       (4, ((0, 1, 2, 3),)), (5, ((0,), (1, 2), (3, 4)))])
def test_start_is_valid_and_cyclic_invariant(n, blocks):
    s = symmetric.start(n, blocks)
    blocks = blocks or symmetric.default_blocks(n)
    assert tensors.verify(s, "Z2").valid and symmetric.is_cyclic_invariant(s)
    assert s.rank == n**3 - n + len(blocks) + sum(len(b) * (len(b)**2 - 1) for b in blocks)
    fixed, reps = symmetric.split(s)
    assert len(fixed) == len(blocks) and s.rank == len(fixed) + 3 * reps.shape[1]


def test_split_refuses_what_is_not_invariant():
    with pytest.raises(ValueError, match="not invariant"):
        symmetric.split(catalog.winograd("Z2"))
    with pytest.raises(ValueError, match="square shape"):
        symmetric.split(tensors.naive_scheme(2, 2, 3, ring="Z2"))
    with pytest.raises(ValueError, match="do not partition"):
        symmetric.parse_blocks("0,1;1,2", 3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.sampled_from([2, 3, 4]), seed=st.integers(0, 2**32), plateau=st.integers(1, 300),
       slack=st.integers(0, 9), chunks=st.integers(1, 5))
def test_orbit_flips_reductions_and_plus_keep_schemes_valid_and_symmetric(n, seed, plateau,
                                                                           slack, chunks):
    """Every move (orbit flip, reduction, plus transition; a short plateau forces
    many plus transitions) keeps the scheme valid over Z2 and cyclic-invariant."""
    start = symmetric.start(n)
    w = symmetric.SymmetricWalker(start, "Z2", start.rank + slack + 6, seed)
    for _ in range(chunks):
        w.run(499, plateau=plateau, max_rank=start.rank + slack)
        s = w.scheme()
        assert tensors.verify(s, "Z2").valid, tensors.verify(s, "Z2").describe()
        assert symmetric.is_cyclic_invariant(s)
        assert (s.rank - len(symmetric.default_blocks(n))) % 3 == 0


@pytest.mark.parametrize("n, target", [(2, 7), (3, 23), (4, 49)])
@pytest.mark.parametrize("settings", ["plain", "default"])
def test_symmetric_search_reaches_known_ranks(n, target, settings):
    blocks = ((0, 1, 2, 3),) if n == 4 else None  # 49 = 1 fixed + 3 · 16
    start = symmetric.start(n, blocks)
    config = (SearchConfig(symmetric=True) if settings == "plain"
              else symmetric.search_config(start.rank))
    r = search(start, ring="Z2", target_rank=target, max_flips=10**8, seed=3, config=config)
    assert r.reached_target and r.scheme.rank == target
    assert tensors.verify(r.scheme, "Z2").valid and symmetric.is_cyclic_invariant(r.scheme)
    assert all(symmetric.is_cyclic_invariant(s) for s in r.pool)


def test_search_settings_are_checked():
    with pytest.raises(ValueError, match="restart must be"):
        SearchConfig(restart="pool2")
    with pytest.raises(ValueError, match="sampling must be"):
        SearchConfig(sampling="slots")


def test_partner_counts_stay_consistent():
    """The kernel's per-slot partner counts (used to draw flips by factor value)
    match a recount after many moves."""
    from alphaalgo.localsearch import flips_sym

    start = symmetric.start(4)
    w = symmetric.SymmetricWalker(start, "Z2", start.rank + 12, seed=9, sampling=1)
    for _ in range(20):
        w.run(3_000, plateau=200, max_rank=start.rank + 6)
        deg = w.deg.copy()
        flips_sym.rebuild_pairs(w.X, int(w.state[0]), w.pairs, w.npairs, w.deg)
        assert np.array_equal(deg, w.deg)


def test_same_seed_same_symmetric_walk():
    a, b = (search(symmetric.start(3), ring="Z2", max_flips=200_000, seed=5,
                   config=SearchConfig(symmetric=True, chunk=10_000)) for _ in range(2))
    assert a.scheme == b.scheme and [h[:2] for h in a.history] == [h[:2] for h in b.history]


def test_cli_symmetric_from_scratch_over_z_is_lifted_and_verified(tmp_path, capsys):
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "3,3,3", "--ring", "Z", "--symmetric",
                           "--target-rank", "23", "--time-limit", "120", "--quiet", "--out",
                           str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.ring == "Z" and rec.scheme.rank == 23
    assert tensors.verify(rec.scheme, "Z").valid
    # read mod 2 it is the walk's cyclic-invariant scheme
    mod2 = rec.scheme.replace(u=rec.scheme.u % 2, v=rec.scheme.v % 2, w=rec.scheme.w % 2,
                              ring="Z2")
    assert symmetric.is_cyclic_invariant(mod2)
    assert rec.provenance["symmetric"] and "--symmetric" in rec.provenance["command"]
    assert rec.provenance["input"] == "schoolbook 3,3,3 (cyclic-invariant)"


@pytest.mark.parametrize("argv, message", [
    (["--shape", "2,2,3", "--ring", "Z2", "--symmetric"], "needs a square shape"),
    (["--shape", "3,3,3", "--ring", "ZT", "--symmetric"], "--symmetric walks over Z2"),
    (["--shape", "3,3,3", "--ring", "Z2", "--symmetric", "--blocks", "0;1"], "do not partition"),
    (["--shape", "3,3,3", "--ring", "Z2", "--blocks", "0;1;2"], "--blocks chooses"),
    (["--shape", "3,3,3", "--ring", "Z2", "--symmetric", "--blocks", "a"], "must look like"),
])
def test_cli_symmetric_bad_input_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "s.json"
    code, _, err = run(capsys, "improve", *argv, "--out", str(out))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_symmetric_file_must_be_invariant(tmp_path, capsys):
    src = tmp_path / "winograd.json"
    formats.write_schemes(src, [formats.SchemeRecord("s", catalog.winograd("Z2"))])
    out = tmp_path / "s.json"
    code, _, err = run(capsys, "improve", str(src), "--ring", "Z2", "--symmetric", "--out",
                        str(out))
    assert code == 2 and "not invariant" in err and not out.exists()
