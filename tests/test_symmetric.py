"""Symmetric flip graphs: cyclic-invariant schemes of ⟨n,n,n⟩ walked by orbit flips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, formats, tensors
from alphaalgo.localsearch import SearchConfig, packing, search, symmetric
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


def _walked(w, chunks: int, plateau: int, max_rank: int):
    """The walker's scheme after each of ``chunks`` runs of 499 moves (plus
    transitions after ``plateau`` flips without a reduction), each checked
    valid over Z2."""
    for _ in range(chunks):
        w.run(499, plateau=plateau, max_rank=max_rank)
        s = w.scheme()
        assert tensors.verify(s, "Z2").valid, tensors.verify(s, "Z2").describe()
        yield s


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.sampled_from([2, 3, 4]), seed=st.integers(0, 2**32), plateau=st.integers(1, 300),
       slack=st.integers(0, 9), chunks=st.integers(1, 5))
def test_orbit_flips_reductions_and_plus_keep_schemes_valid_and_symmetric(n, seed, plateau,
                                                                           slack, chunks):
    """Every move (orbit flip, reduction, plus transition; a short plateau forces
    many plus transitions) keeps the scheme valid over Z2 and cyclic-invariant."""
    start = symmetric.start(n)
    w = symmetric.SymmetricWalker(start, "Z2", start.rank + slack + 6, seed)
    for s in _walked(w, chunks, plateau, start.rank + slack):
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


def _reflected(s):
    """The scheme with ρ (the index reversal) applied to every factor: entry
    (i, j) of an r×c factor to (r-1-i, c-1-j), row-major, so the rows reversed."""
    return s.replace(u=s.u[::-1], v=s.v[::-1], w=s.w[::-1])


def _sorted_terms(s):
    return sorted(tuple(map(tuple, (c[0], c[1], c[2]))) for c in tensors.iter_columns(s))


def _six_fold(s) -> bool:
    """Cyclic-invariant, and ρ maps the terms (as a multiset) to themselves."""
    return symmetric.is_cyclic_invariant(s) and _sorted_terms(_reflected(s)) == _sorted_terms(s)


def test_reflection_is_a_symmetry_of_the_matmul_tensor():
    """ρ (conjugation of every factor by the index reversal) maps a valid
    scheme to a valid scheme, and the involution 'reverse' is ρ on bit masks:
    the low n² bits of each factor reversed."""
    for s in (catalog.winograd("Z2"), symmetric.start(3)):
        assert tensors.verify(_reflected(s), "Z2").valid
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 6, 8):
        rho = symmetric.involution((n, n, n))
        for x in rng.integers(0, 2**(n * n) - 1, size=(20, 3), dtype=np.uint64):
            t = tuple(int(v) for v in x)
            want = tuple(sum(((v >> k) & 1) << (n * n - 1 - k) for k in range(n * n)) for v in t)
            assert symmetric.image_term(t, rho) == want
            assert symmetric.image_term(want, rho) == t


def _terms_mod2(s):
    return _sorted_terms(s.replace(u=s.u % 2, v=s.v % 2, w=s.w % 2))


@pytest.mark.parametrize("shape, name", [((2, 3, 4), "reverse"), ((3, 5, 3), "reverse"),
                                         ((4, 5, 4), "transpose"), ((3, 2, 3), "transpose"),
                                         ((4, 5, 4), "both"), ((5, 4, 5), "both")])
def test_involutions_map_the_tensor_to_itself(shape, name):
    """Each involution permutes the schoolbook terms (so it maps the matmul
    tensor to itself), is its own inverse, and its byte table (the kernel's
    image) agrees with it on random factors; the transposition agrees with
    ``tensors.transpose``."""
    from alphaalgo.localsearch import flips_sym

    inv = symmetric.involution(shape, name)
    naive = tensors.naive_scheme(*shape, ring="Z2")
    terms = [tuple(int(x) for x in col) for col in
             packing.pack_z2(naive, naive.rank)[:, :naive.rank].T]
    images = [symmetric.image_term(t, inv) for t in terms]
    assert sorted(images) == sorted(terms) and images != terms
    assert [symmetric.image_term(t, inv) for t in images] == terms
    rng = np.random.default_rng(1)
    table = symmetric.table(inv)
    for c, size in enumerate(naive.sizes):
        for x in rng.integers(0, 2**size, size=30, dtype=np.uint64):
            t = [0, 0, 0]
            t[c] = int(x)
            want = symmetric.image_term(tuple(t), inv)[inv.perm[c]]
            assert int(flips_sym.image(np.uint64(x), c, table)) == want
    s = symmetric.start_for(shape, 2, None, name)
    assert tensors.verify(s, "Z2").valid
    if name == "transpose":
        assert _terms_mod2(tensors.transpose(s)) == _terms_mod2(s)
        assert _terms_mod2(tensors.transpose(naive)) == _terms_mod2(naive)


@pytest.mark.parametrize("n, blocks", [(2, None), (3, None), (4, None), (5, None), (6, None),
                                       (6, ((0, 1), (2, 3), (4, 5))), (4, ((0, 1, 2, 3),))])
def test_six_fold_start_pairs_its_orbits(n, blocks):
    s = symmetric.start(n, blocks, symmetry=6)
    assert tensors.verify(s, "Z2").valid and _six_fold(s)
    fixed, reps = symmetric.split(s, 6)
    assert reps.shape[1] % 2 == 0 and s.rank == len(fixed) + 3 * reps.shape[1]
    for k in range(0, reps.shape[1], 2):  # column 2k+1 is ρ of column 2k
        assert (symmetric.image_term(tuple(int(x) for x in reps[:, k]),
                                     symmetric.involution((n, n, n)))
                == tuple(map(int, reps[:, k + 1])))


def test_six_fold_refuses_what_lacks_the_reflection():
    with pytest.raises(ValueError, match="reversal"):
        symmetric.start(4, ((0, 1), (2,), (3,)), symmetry=6)
    # a cyclic-invariant ⟨3,3,3⟩ 23 has 2 fixed terms and 7 orbits: they cannot pair
    r = search(symmetric.start(3), ring="Z2", target_rank=23, max_flips=10**8, seed=3,
               config=symmetric.search_config(32))
    assert r.scheme.rank == 23 and symmetric.is_cyclic_invariant(r.scheme)
    with pytest.raises(ValueError, match="six-fold"):
        symmetric.split(r.scheme, 6)
    with pytest.raises(ValueError, match="symmetry must be 2, 3 or 6"):
        SearchConfig(symmetric=True, symmetry=4)


def test_six_fold_drops_a_pair_that_cancels():
    """Two copies of the orbit of a term that ρ fixes are zero mod 2: the
    walker drops them on loading (rank −6), and the pair list skips them."""
    start = symmetric.start(4, symmetry=6)
    d = np.zeros(16, dtype=np.int64)
    d[[0, 15]] = 1  # e_00 + e_33, fixed by ρ
    e = np.zeros(16, dtype=np.int64)
    e[[5, 10]] = 1  # e_11 + e_22
    cols = [(d, d, e), (d, e, d), (e, d, d)] * 2
    extra = [np.stack([c[p] for c in cols], axis=1) for p in range(3)]
    padded = start.replace(u=np.hstack([start.u, extra[0]]), v=np.hstack([start.v, extra[1]]),
                           w=np.hstack([start.w, extra[2]]))
    assert padded.rank == start.rank + 6 and tensors.verify(padded, "Z2").valid
    w = symmetric.SymmetricWalker(padded, "Z2", padded.rank + 6, seed=0, symmetry=6)
    assert w.rank == start.rank


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.sampled_from([2, 3, 4, 5]), seed=st.integers(0, 2**32), plateau=st.integers(1, 300),
       slack=st.integers(0, 13), chunks=st.integers(1, 5))
def test_six_fold_moves_keep_schemes_valid_and_symmetric(n, seed, plateau, slack, chunks):
    """Every six-fold move (paired orbit flips, reductions, cancelling pairs,
    plus transitions) keeps the scheme valid over Z2 and invariant under the
    shift and ρ, with its rank in steps of six from the fixed terms."""
    start = symmetric.start(n, symmetry=6)
    w = symmetric.SymmetricWalker(start, "Z2", start.rank + slack + 12, seed, symmetry=6)
    for s in _walked(w, chunks, plateau, start.rank + slack):
        assert _six_fold(s)
        assert (s.rank - len(symmetric.default_blocks(n))) % 6 == 0


def test_six_fold_search_reaches_known_ranks():
    """⟨2,2,2⟩ 7 (1 fixed + 6) and ⟨4,4,4⟩ 49 (one block: 1 fixed + 6 · 8)."""
    for n, blocks, target in [(2, None, 7), (4, ((0, 1, 2, 3),), 49)]:
        start = symmetric.start(n, blocks, symmetry=6)
        r = search(start, ring="Z2", target_rank=target, max_flips=10**8, seed=1,
                   config=symmetric.search_config(start.rank, 6))
        assert r.reached_target and r.scheme.rank == target
        assert tensors.verify(r.scheme, "Z2").valid and _six_fold(r.scheme)


def test_search_settings_are_checked():
    with pytest.raises(ValueError, match="restart must be"):
        SearchConfig(restart="pool2")
    with pytest.raises(ValueError, match="sampling must be"):
        SearchConfig(sampling="slots")


@pytest.mark.parametrize("symmetry", [2, "2t", 3, 6])  # 2t: two-fold, the transposition
def test_partner_counts_stay_consistent(symmetry):
    """The kernel's pair list and per-slot partner counts (used to draw flips
    by factor value) match a recount after many moves."""
    from alphaalgo.localsearch import flips_sym

    start = (_start((3, 4, 4)) if symmetry == 2
             else _start((4, 3, 4), "", "transpose") if symmetry == "2t"
             else symmetric.start(4, symmetry=symmetry))
    w = symmetric.SymmetricWalker(start, "Z2", start.rank + 12, seed=9, sampling=1,
                                  symmetry=2 if symmetry == "2t" else symmetry,
                                  involution_name="transpose" if symmetry == "2t" else "reverse")
    for _ in range(20):
        w.run(3_000, plateau=200, max_rank=start.rank + 6)
        deg, pairs = w.deg.copy(), w.pairs[:int(w.npairs[0])].copy()
        flips_sym.rebuild_pairs(w.X, int(w.state[0]), w.pairs, w.npairs, w.deg, w.mirror,
                                w.cyclic)
        assert np.array_equal(deg, w.deg)
        canon = lambda P: sorted(tuple(sorted([(p[0], p[1]), (p[2], p[3])])) for p in P.tolist())
        assert canon(pairs) == canon(w.pairs[:int(w.npairs[0])])


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


def test_cli_six_fold_from_scratch(tmp_path, capsys):
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,2,2", "--ring", "Z", "--symmetric",
                           "--symmetry", "6", "--target-rank", "7", "--time-limit", "60",
                           "--quiet", "--out", str(out))
    assert code == 0 and "six-fold" in stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 7 and tensors.verify(rec.scheme, "Z").valid
    mod2 = rec.scheme.replace(u=rec.scheme.u % 2, v=rec.scheme.v % 2, w=rec.scheme.w % 2,
                              ring="Z2")
    assert _six_fold(mod2)
    assert rec.provenance["symmetry"] == 6 and "--symmetry 6" in rec.provenance["command"]


@pytest.mark.parametrize("argv, message", [
    (["--shape", "4,4,4", "--ring", "Z2", "--symmetry", "6"], "give --symmetric too"),
    (["--shape", "4,4,4", "--ring", "Z2", "--symmetric", "--symmetry", "6", "--blocks",
      "0,1;2;3"], "maps to blocks"),
    (["--shape", "2,2,3", "--ring", "Z2", "--symmetric"], "needs a square shape"),
    (["--shape", "2,2,3", "--ring", "Z2", "--symmetric", "--symmetry", "2", "--blocks",
      "0.0/0.0/0.0"], "not closed under the reversal"),
    (["--shape", "2,2,3", "--ring", "Z2", "--symmetric", "--symmetry", "2", "--blocks",
      "0,3/0,3/2"], "must look like"),
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


# --- the two-fold walk: ρ alone, any shape ---------------------------------------------

STRASSEN_DIAGONAL = "0.0,1.1/0.0,1.1/0.0,1.1"  # (a00+a11)(b00+b11) → c00+c11


def _two_fold(s, name: str = "reverse") -> bool:
    """The involution maps the terms (as a multiset, read mod 2) to themselves
    (ρ checked by reversing the factors' rows, τ by ``tensors.transpose``)."""
    mod2 = s.replace(u=s.u % 2, v=s.v % 2, w=s.w % 2)
    if name == "reverse":
        return _sorted_terms(_reflected(mod2)) == _sorted_terms(mod2)
    if name == "transpose":
        return _sorted_terms(tensors.transpose(mod2)) == _sorted_terms(mod2)
    return _sorted_terms(_reflected(tensors.transpose(mod2))) == _sorted_terms(mod2)


def _start(shape, fixed: str = "", name: str = "reverse"):
    return symmetric.start_for(shape, 2, fixed or None, name)


@pytest.mark.parametrize("shape, fixed, name, n_fixed", [
    ((2, 2, 2), "", "reverse", 0), ((2, 2, 3), "", "reverse", 0), ((3, 3, 3), "", "reverse", 1),
    ((3, 4, 5), "", "reverse", 0), ((5, 5, 5), "", "reverse", 1),
    ((2, 2, 2), STRASSEN_DIAGONAL, "reverse", 1),
    ((4, 4, 5), "0.0,3.3/0.2,3.2/2.0,2.3", "reverse", 1),
    ((3, 5, 5), "1.2/2.2/2.1;0.0,2.4/0.0,4.4/0.0,4.2", "reverse", 2),
    # τ: n fixed terms (a_i0+…)(b_0i+…)c_ii; Strassen's diagonal term adds one;
    # 'entries': the n·m single entries a_ij b_ji c_ii
    ((4, 5, 4), "", "transpose", 4), ((5, 3, 5), "", "transpose", 5),
    ((4, 5, 4), "entries", "transpose", 20), ((5, 3, 5), "entries", "transpose", 15),
    ((2, 2, 2), STRASSEN_DIAGONAL, "transpose", 3),
    # ρτ: none when m is even, n when m is odd
    ((5, 4, 5), "", "both", 0), ((4, 5, 4), "", "both", 4), ((4, 4, 4), "", "both", 0),
    ((2, 2, 2), STRASSEN_DIAGONAL, "both", 1),
])
def test_two_fold_start_is_valid_and_pairs_its_terms(shape, fixed, name, n_fixed):
    s = _start(shape, fixed, name)
    inv = symmetric.involution(shape, name)
    assert s.shape == shape and tensors.verify(s, "Z2").valid and _two_fold(s, name)
    kept, cols = symmetric.split(s, 2, name)
    assert len(kept) == n_fixed and s.rank == len(kept) + cols.shape[1]
    for t in kept:
        assert symmetric.image_term(t, inv) == t
    for k in range(0, cols.shape[1], 2):  # column 2k+1 is the image of column 2k
        t = tuple(int(x) for x in cols[:, k])
        assert symmetric.image_term(t, inv) == tuple(int(x) for x in cols[:, k + 1])
        assert symmetric.image_term(t, inv) != t


def test_two_fold_refuses_what_lacks_the_involution():
    with pytest.raises(ValueError, match="not invariant under the index reversal"):
        symmetric.split(catalog.winograd("Z2"), 2)
    with pytest.raises(ValueError, match="not closed under the reversal"):
        symmetric.parse_fixed("0.0,1.0/0.0,1.1/0.0,1.1", (2, 2, 2))
    with pytest.raises(ValueError, match="within 2×3"):
        symmetric.parse_fixed("0.0,1.1/0.3,1.0/0.0,2.1", (2, 2, 3))
    with pytest.raises(ValueError, match="mirror_start"):
        symmetric.start(3, symmetry=2)
    with pytest.raises(ValueError, match="needs n = p.*⟨4,5,4⟩"):
        symmetric.involution((4, 4, 5), "transpose")
    tau = symmetric.involution((2, 3, 2), "transpose")
    with pytest.raises(ValueError, match="'transpose' does not map it to itself"):
        symmetric.parse_fixed("0.0/0.1/0.0", (2, 3, 2), tau)  # B must be A transposed
    with pytest.raises(ValueError, match="not invariant under the transposition with the"):
        symmetric.split(catalog.winograd("Z2"), 2, "both")  # τ-invariant, not ρτ-invariant
    with pytest.raises(ValueError, match="two-fold walk"):
        SearchConfig(symmetric=True, symmetry=6, involution="transpose")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from([((2, 2, 2), STRASSEN_DIAGONAL, "reverse"), ((2, 2, 3), "", "reverse"),
                             ((2, 3, 4), "", "reverse"), ((3, 3, 3), "", "reverse"),
                             ((3, 4, 4), "", "reverse"),
                             ((4, 4, 5), "0.0,3.3/0.2,3.2/2.0,2.3", "reverse"),
                             ((2, 2, 2), STRASSEN_DIAGONAL, "transpose"),
                             ((3, 4, 3), "", "transpose"), ((3, 4, 3), "", "both"),
                             ((4, 3, 4), "", "both")]),
       seed=st.integers(0, 2**32), plateau=st.integers(1, 300), slack=st.integers(0, 9),
       chunks=st.integers(1, 5))
def test_two_fold_moves_keep_schemes_valid_and_symmetric(case, seed, plateau, slack, chunks):
    """Every two-fold move (paired flips, reductions, cancelling pairs, plus
    transitions) keeps the scheme valid over Z2 and invariant under its
    involution, its fixed terms as they were and the rest in pairs."""
    shape, fixed, name = case
    start = _start(shape, fixed, name)
    kept = symmetric.split(start, 2, name)[0]
    w = symmetric.SymmetricWalker(start, "Z2", start.rank + slack + 4, seed, symmetry=2,
                                  involution_name=name)
    for s in _walked(w, chunks, plateau, start.rank + slack):
        assert _two_fold(s, name)
        assert sorted(symmetric.split(s, 2, name)[0]) == sorted(kept)


def test_two_fold_search_reaches_known_ranks():
    """⟨2,2,2⟩ 7 with Strassen's diagonal term fixed, ⟨3,3,3⟩ 23 (the centre
    fixed) and ⟨2,3,4⟩ 20 (pairs only); under τ ⟨2,2,2⟩ 7 and ⟨3,3,3⟩ 23
    (three fixed terms), under ρτ ⟨2,2,2⟩ 7 and ⟨3,3,3⟩ 23."""
    for shape, fixed, name, target in [
            ((2, 2, 2), STRASSEN_DIAGONAL, "reverse", 7), ((3, 3, 3), "", "reverse", 23),
            ((2, 3, 4), "", "reverse", 20), ((2, 2, 2), STRASSEN_DIAGONAL, "transpose", 7),
            ((3, 3, 3), "", "transpose", 23), ((2, 2, 2), STRASSEN_DIAGONAL, "both", 7),
            ((3, 3, 3), "", "both", 23)]:
        start = _start(shape, fixed, name)
        r = search(start, ring="Z2", target_rank=target, max_flips=10**8, seed=1,
                   config=symmetric.search_config(start.rank, 2, name))
        assert r.reached_target and r.scheme.rank == target, (shape, name, r.scheme.rank)
        assert tensors.verify(r.scheme, "Z2").valid and _two_fold(r.scheme, name)
        if name == "transpose":
            assert _fixed_diagonal(r.scheme) == _schoolbook_diagonal(shape)


def _fixed_diagonal(scheme) -> set[tuple[int, int]]:
    """The entries (A bit, k) of Σ u ⊗ diag(w) over the τ-fixed terms u⊗uᵀ⊗w, mod 2."""
    n = scheme.shape[0]
    odd: set[tuple[int, int]] = set()
    for u, _, w in symmetric.split(scheme, 2, "transpose")[0]:
        odd ^= {(q, k) for q in range(u.bit_length()) if (u >> q) & 1
                for k in range(n) if (w >> (k * n + k)) & 1}
    return odd


def _schoolbook_diagonal(shape) -> set[tuple[int, int]]:
    """Σ_ij a_ij ⊗ c_ii: the terms a_ij b_ji c_kk of the matmul tensor, as (A bit, k)."""
    n, m, _ = shape
    return {(i * m + j, i) for i in range(n) for j in range(m)}


def test_cli_two_fold_from_scratch(tmp_path, capsys):
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,2,2", "--ring", "Z", "--symmetric",
                           "--symmetry", "2", "--blocks", STRASSEN_DIAGONAL, "--target-rank",
                           "7", "--time-limit", "60", "--quiet", "--out", str(out))
    assert code == 0 and "two-fold" in stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 7 and tensors.verify(rec.scheme, "Z").valid
    assert _two_fold(rec.scheme)
    assert rec.provenance["symmetry"] == 2
    assert f"--blocks {STRASSEN_DIAGONAL}" in rec.provenance["command"]


def test_cli_two_fold_transposition(tmp_path, capsys):
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "3,3,3", "--ring", "Z", "--symmetric",
                           "--symmetry", "2", "--involution", "transpose", "--target-rank", "23",
                           "--time-limit", "60", "--quiet", "--out", str(out))
    assert code == 0 and "involution transpose" in stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 23 and tensors.verify(rec.scheme, "Z").valid
    assert _two_fold(rec.scheme, "transpose") and rec.provenance["involution"] == "transpose"
    assert "--involution transpose" in rec.provenance["command"]
    for extra, says in [(["--shape", "3,4,5", "--symmetry", "2", "--involution", "transpose"],
                         "needs two equal indices"),
                        (["--shape", "3,4,5", "--symmetry", "2", "--involution", "transpose",
                          "--blocks", "0.0/0.0/0.0"], "--involution: "),
                        (["--shape", "3,3,3", "--involution", "both"], "--symmetry 2"),
                        (["--shape", "3,3,3", "--symmetry", "2", "--blocks", "entries"],
                         "use it with 'transpose'")]:
        bad = tmp_path / "bad.json"
        code, _, err = run(capsys, "improve", "--ring", "Z2", "--symmetric", *extra,
                           "--out", str(bad))
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1
        assert not bad.exists()


def test_cli_transposition_turns_a_shape_to_n_m_n_and_back(tmp_path, capsys):
    """⟨2,2,3⟩ is walked as ⟨2,3,2⟩ (its τ-invariant schemes), and the result, turned
    back, is a verified ⟨2,2,3⟩ scheme; likewise ⟨3,2,2⟩ (two turns)."""
    for shape, walked in [("2,2,3", "⟨2,3,2⟩"), ("3,2,2", "⟨2,3,2⟩")]:
        out = tmp_path / f"s{shape}.json"
        code, stdout, _ = run(capsys, "improve", "--shape", shape, "--ring", "Z2", "--symmetric",
                               "--symmetry", "2", "--involution", "transpose", "--blocks",
                               "entries", "--release-after", "20000", "--target-rank", "11",
                               "--time-limit", "60", "--quiet", "--out", str(out))
        assert code == 0 and f"as {walked}" in stdout, stdout
        rec = formats.read_scheme(out)
        assert rec.scheme.shape == tuple(map(int, shape.split(",")))
        assert rec.scheme.rank == 11 and tensors.verify(rec.scheme, "Z2").valid
        assert rec.provenance["release_after"] == 20000
        assert "--release-after 20000" in rec.provenance["command"]


def test_alphatensors_z2_47_is_invariant_under_the_transposition():
    """AlphaTensor's published ⟨4,4,4⟩ 47 over Z2 is τ-invariant as it stands:
    11 fixed terms u⊗uᵀ⊗w (w symmetric) and 18 pairs; it has neither ρ nor ρτ."""
    s = formats.read_scheme("kernels/schemes/alphatensor-z2-4x4x4-r47.json").scheme
    fixed, cols = symmetric.split(s, 2, "transpose")
    assert (len(fixed), cols.shape[1]) == (11, 36) and _two_fold(s, "transpose")
    assert _fixed_diagonal(s) == _schoolbook_diagonal((4, 4, 4))  # mirror_start's identity
    for name in ("reverse", "both"):
        with pytest.raises(ValueError, match="not invariant"):
            symmetric.split(s, 2, name)
