"""Fewest additions at a rank: the count the kernels execute, and the walk that lowers it."""

from __future__ import annotations

import numpy as np
import pytest

from alphaalgo import catalog, codegen, formats, tensors
from alphaalgo.cli import main
from alphaalgo.codegen.cse import shared_additions
from alphaalgo.localsearch import AdditionsConfig, minimize_additions
from alphaalgo.localsearch.additions import _sandwiched


def shipped(ident: str) -> tensors.Scheme:
    return catalog.load(next(e for e in catalog.find(ring="Z") if e.id == ident))


SMALL = ("strassen-2x2x2-r7", "winograd-2x2x2-r7", "alphatensor-z-3x3x3-r23",
         "alphatensor-z-2x3x4-r20", "alphatensor-z-4x4x4-r49", "naive-3x3x3-r27")


@pytest.mark.parametrize("ident", SMALL)
def test_walk_count_is_the_kernels_count(ident):
    s = shipped(ident)
    assert shared_additions(s.u, s.v, s.w) == codegen.addition_counts(s)["shared"]


def test_strassen_comes_down_to_winograds_fifteen():
    """Strassen's scheme has no flips; basis changes alone take its 18 additions
    to 15, Winograd's count (optimal for rank 7 in a fixed basis, Probert 1976)."""
    strassen = shipped("strassen-2x2x2-r7")
    assert codegen.addition_counts(strassen)["shared"] == 18
    for seed in range(3):
        res = minimize_additions(strassen, max_steps=3000, seed=seed)
        assert res.additions == 15 and res.scheme.rank == 7
        assert tensors.verify(res.scheme, "Z").valid
        assert codegen.addition_counts(res.scheme)["shared"] == 15


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_walk_keeps_rank_and_validity_and_never_adds(seed):
    start = shipped("alphatensor-z-3x3x3-r23")
    res = minimize_additions(start, max_steps=300, seed=seed)
    assert res.scheme.rank <= start.rank
    assert tensors.verify(res.scheme, "Z").valid
    assert res.start_additions == codegen.addition_counts(start)["shared"]
    assert res.additions == codegen.addition_counts(res.scheme)["shared"] <= res.start_additions
    assert [h[1] for h in res.history] == sorted((h[1] for h in res.history), reverse=True)
    assert res.scheme.max_abs_coefficient() <= start.max_abs_coefficient()


def test_same_seed_same_walk():
    start = shipped("alphatensor-z-3x3x3-r23")
    a = minimize_additions(start, max_steps=200, seed=5)
    b = minimize_additions(start, max_steps=200, seed=5)
    assert tensors.canonical_hash(a.scheme) == tensors.canonical_hash(b.scheme)
    assert [h[:3] for h in a.history] == [h[:3] for h in b.history]


def test_basis_changes_keep_validity_and_the_bound():
    rng = np.random.default_rng(0)
    s = shipped("alphatensor-z-2x3x4-r20")
    for _ in range(40):
        t = _sandwiched(s, rng, bound=1)
        if t is not None:
            assert tensors.verify(t, "Z").valid and t.max_abs_coefficient() <= 1
            s = t


def test_mod2_and_rational_schemes_are_refused():
    with pytest.raises(ValueError, match="integer scheme over Z"):
        minimize_additions(shipped("strassen-2x2x2-r7").replace(ring="Z2"), max_steps=10)
    with pytest.raises(ValueError, match="time limit or a number of steps"):
        minimize_additions(shipped("strassen-2x2x2-r7"))
    with pytest.raises(ValueError):
        AdditionsConfig(sandwich=2.0)


def test_cli_minimize_additions(tmp_path, capsys):
    src = tmp_path / "strassen.json"
    formats.write_schemes(src, [formats.SchemeRecord("s", shipped("strassen-2x2x2-r7"))])
    out = tmp_path / "fewer.json"
    code = main(["improve", str(src), "--ring", "Z", "--minimize", "additions",
                 "--time-limit", "3", "--quiet", "--out", str(out)])
    said = capsys.readouterr().out
    assert code == 0, said
    assert "additions 18 → 15" in said
    rec = formats.read_scheme(out)
    assert tensors.verify(rec.scheme, "Z").valid and rec.scheme.rank == 7
    assert rec.provenance["additions"] == 15 and "--minimize additions" in rec.provenance["command"]


@pytest.mark.parametrize("extra, message", [
    (["--ring", "Z2"], "needs --ring Z"),
    (["--ring", "Z", "--target-rank", "6"], "--target-rank does not apply"),
])
def test_cli_minimize_additions_bad_input(tmp_path, capsys, extra, message):
    src = tmp_path / "strassen.json"
    formats.write_schemes(src, [formats.SchemeRecord("s", shipped("strassen-2x2x2-r7"))])
    out = tmp_path / "x.json"
    try:
        code = main(["improve", str(src), "--minimize", "additions", *extra, "--out", str(out)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


# ------------------------------------------------ choosing what to run: measured, then additions
def _measure(store, scheme, speedup: float, size: int = 512) -> None:
    from alphaalgo import bench

    store.add_benchmark(tensors.canonical_hash(scheme), bench.device_key("numba"), "numba",
                        (size, size, size), "float64", 1, {"speedup": speedup})


def test_choose_fastest_measured_then_fewest_additions(tmp_path):
    from alphaalgo import bench
    from alphaalgo.store import Store

    st, wi, naive = (shipped("strassen-2x2x2-r7"), shipped("winograd-2x2x2-r7"),
                     shipped("naive-2x2x2-r8"))
    assert bench.choose_fastest([st, wi]) == 1                 # 15 additions against 18
    assert bench.choose_fastest([naive, st]) == 1              # rank first
    with Store(tmp_path / "m.db") as store:
        _measure(store, st, 1.20)
        _measure(store, wi, 1.05)
        assert bench.choose_fastest([wi, st], store) == 1      # measured speed beats additions
        _measure(store, naive, 9.0)
        assert bench.choose_fastest([naive, wi, st], store) == 2   # never a higher rank
        # only one configuration is compared: the one measured for most schemes
        _measure(store, wi, 1.50, size=1024)
        assert bench.choose_fastest([wi, st], store) == 1
        _measure(store, st, 1.10, size=1024)
        assert bench.choose_fastest([wi, st], store) == 0
        assert bench.choose_fastest([wi, st], store, device="gpu:elsewhere") == 0  # additions
    best = catalog.best((2, 2, 2), "Z")  # Winograd's, or a shipped scheme as good (15)
    assert best.rank == 7 and codegen.addition_counts(best)["shared"] == 15


def test_export_from_a_store_takes_the_fastest_measured(tmp_path, capsys):
    from alphaalgo.store import Store

    st, wi = shipped("strassen-2x2x2-r7"), shipped("winograd-2x2x2-r7")
    db = tmp_path / "m.db"
    with Store(db) as store:
        for s in (st, wi, shipped("alphatensor-z-3x3x3-r23"), shipped("naive-3x3x3-r27")):
            store.add_scheme(s, {"source": "test"})
        _measure(store, st, 1.30)
        _measure(store, wi, 1.02)
    out = tmp_path / "pk"
    assert main(["export", "--out", str(out), "--store", str(db), "--name", "fast_pkg"]) == 0
    capsys.readouterr()
    readme = (out / "README.md").read_text()
    h_st, h_wi = tensors.canonical_hash(st), tensors.canonical_hash(wi)
    assert h_st in readme and h_wi not in readme
    assert tensors.canonical_hash(shipped("alphatensor-z-3x3x3-r23")) in readme
    assert "r27" not in readme
