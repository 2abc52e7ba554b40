"""``alphaalgo improve``: exit codes, bad input, verified output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphaalgo import catalog, formats, tensors
from alphaalgo.formats import SchemeRecord
from cli_run import run


def write(path: Path, scheme: tensors.Scheme) -> Path:
    formats.write_schemes(path, [SchemeRecord(path.stem, scheme)])
    return path


@pytest.fixture
def naive222(tmp_path) -> Path:
    return write(tmp_path / "naive222.json", tensors.naive_scheme(2, 2, 2))


def test_help_explains_with_examples(capsys):
    code, out, _ = run(capsys, "improve", "--help")
    assert code == 0
    for word in ("--ring", "--target-rank", "--time-limit", "--seed", "--lift", "--out",
                 "examples:", "Exit status"):
        assert word in out


@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_reaches_the_target_exit_0_and_writes_a_verified_scheme(capsys, tmp_path, naive222, ring):
    out = tmp_path / f"best_{ring}.json"
    code, stdout, _ = run(capsys, "improve", str(naive222), "--ring", ring, "--target-rank", "7",
                          "--time-limit", "30", "--seed", "3", "--out", str(out), "--quiet")
    assert code == 0, stdout
    assert "8 → 7" in stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 7 and rec.scheme.ring == ring
    assert tensors.verify(rec.scheme).valid
    assert rec.provenance["source"] == "alphaalgo improve" and rec.provenance["seed"] == 3
    doc = json.loads(out.read_text())
    assert doc["verification"]["valid"] is True


def test_native_z_flips(capsys, tmp_path, naive222):
    out = tmp_path / "z.txt"
    code, _, _ = run(capsys, "improve", str(naive222), "--ring", "Z", "--method", "flips",
                     "--target-rank", "7", "--max-flips", "2000000", "--out", str(out), "--quiet")
    assert code == 0
    s = formats.read_scheme(out, ring="Z").scheme
    assert s.rank == 7 and tensors.verify(s, "Z").valid and s.max_abs_coefficient() <= 1


def test_z3_walk_lifted_to_z(capsys, tmp_path):
    """--method lift3: the walk is over Z3 and the scheme written is an integer one."""
    out = tmp_path / "z3.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,2,2", "--ring", "Z", "--method",
                          "lift3", "--target-rank", "7", "--max-flips", "3000000", "--seed", "1",
                          "--workers", "1", "--out", str(out), "--quiet")
    assert code == 0 and "walk over Z3, lifted to Z" in stdout
    rec = formats.read_scheme(out, ring="Z")
    assert rec.scheme.rank == 7 and rec.scheme.is_integral
    assert tensors.verify(rec.scheme, "Z").valid and rec.provenance["method"] == "lift3"


def test_target_not_reached_exit_1_still_writes_the_best(capsys, tmp_path, naive222):
    out = tmp_path / "best.npz"
    code, stdout, _ = run(capsys, "improve", str(naive222), "--ring", "Z2", "--target-rank", "6",
                          "--time-limit", "0.5", "--out", str(out), "--quiet")
    assert code == 1
    s = formats.read_scheme(out, ring="Z2").scheme
    assert s.rank == 7 and tensors.verify(s, "Z2").valid


def test_no_target_exit_0_when_the_search_finishes(capsys, tmp_path, naive222):
    out = tmp_path / "best.json"
    code, _, _ = run(capsys, "improve", str(naive222), "--ring", "Z2", "--max-flips", "50000",
                     "--out", str(out), "--quiet")
    assert code == 0 and formats.read_scheme(out).scheme.rank <= 8


def test_lift_writes_a_z_scheme(capsys, tmp_path):
    start = write(tmp_path / "n333.txt", tensors.naive_scheme(3, 3, 3))
    out = tmp_path / "s23.json"
    code, stdout, _ = run(capsys, "improve", str(start), "--ring", "Z2", "--target-rank", "23",
                          "--lift", "--time-limit", "60", "--seed", "1", "--out", str(out),
                          "--quiet")
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.ring == "Z" and rec.scheme.rank == 23
    assert tensors.verify(rec.scheme, "Z").valid and rec.provenance["lifted"] is True


def test_lift_of_an_unliftable_start_exit_1_writes_z2(capsys, tmp_path, reference_dir):
    rec = formats.read_scheme(reference_dir / "factorizations_f2.npz", ring="Z2", key="4,4,4")
    start = write(tmp_path / "at47.json", rec.scheme)
    out = tmp_path / "out.json"
    code, stdout, _ = run(capsys, "improve", str(start), "--ring", "Z2", "--lift",
                          "--max-flips", "20000", "--out", str(out), "--quiet")
    assert code == 1 and "lifts" in stdout
    s = formats.read_scheme(out).scheme
    assert s.ring == "Z2" and s.rank <= 47 and tensors.verify(s).valid


def test_same_seed_same_output(capsys, tmp_path):
    start = write(tmp_path / "n333.json", tensors.naive_scheme(3, 3, 3, ring="Z2"))
    texts = []
    for name in ("a.txt", "b.txt"):
        out = tmp_path / name
        run(capsys, "improve", str(start), "--ring", "Z2", "--max-flips", "300000", "--seed",
            "17", "--out", str(out), "--quiet")
        texts.append(out.read_text())
    assert texts[0] == texts[1]


@pytest.mark.parametrize("extra,message", [
    (["--lift"], "--lift needs --ring Z2"),
    (["--time-limit", "0"], "seconds must be a finite positive number"),
    (["--max-flips", "0"], "--max-flips must be between 1"),
    (["--target-rank", "-1"], "--target-rank"),
    (["--walks", "sideways"], "--walks"),
    (["--pool", "0"], "--pool"),
    (["--walks", "stepdown", "--minimize", "additions"], "not with --minimize additions"),
])
def test_bad_options_exit_2(capsys, tmp_path, naive222, extra, message):
    out = tmp_path / "x.json"
    code, _, err = run(capsys, "improve", str(naive222), "--ring", "Z", "--out", str(out),
                       "--quiet", *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_input_exit_2_nothing_written(capsys, tmp_path, naive222):
    out = tmp_path / "x.json"
    # missing file
    code, _, err = run(capsys, "improve", str(tmp_path / "nope.json"), "--ring", "Z2",
                       "--out", str(out))
    assert code == 2 and "no such file" in err
    # an invalid scheme
    s = catalog.strassen("Z")
    w = s.w.copy()
    w[0, 0] += 1
    bad = write(tmp_path / "bad.npz", s.replace(w=w))
    code, _, err = run(capsys, "improve", str(bad), "--ring", "Z", "--out", str(out))
    assert code == 2 and "not valid over Z" in err
    # valid over Z2 only, searched over Z
    z2only = write(tmp_path / "z2.json", catalog.strassen("Z2"))
    code, _, err = run(capsys, "improve", str(z2only), "--ring", "Z", "--out", str(out))
    assert code == 2 and "not valid over Z" in err
    # an output format nobody reads
    code, _, err = run(capsys, "improve", str(naive222), "--ring", "Z", "--out",
                       str(tmp_path / "x.csv"))
    assert code == 2 and "unknown extension" in err
    # garbage
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    code, _, err = run(capsys, "improve", str(junk), "--ring", "Z", "--out", str(out))
    assert code == 2 and "malformed JSON" in err
    # missing --ring
    code, _, err = run(capsys, "improve", str(naive222), "--out", str(out))
    assert code == 2 and "--ring" in err
    assert not out.exists() and not (tmp_path / "x.csv").exists()


def test_rational_scheme_exit_2(capsys, tmp_path, reference_dir):
    recs = formats.read_schemes(reference_dir / "factorizations_r.npz")
    rational = next(r for r in recs if not r.scheme.is_integral)
    start = write(tmp_path / "rational.json", rational.scheme)
    out = tmp_path / "x.json"
    code, _, err = run(capsys, "improve", str(start), "--ring", "Z", "--out", str(out))
    assert code == 2 and "integer coefficients" in err and not out.exists()


@pytest.mark.slow
def test_444_reaches_rank_49_over_z(capsys, tmp_path):
    """From the naive ⟨4,4,4⟩: a Z2 walk whose new best schemes are Hensel-lifted."""
    start = write(tmp_path / "n444.json", tensors.naive_scheme(4, 4, 4))
    out = tmp_path / "s49.json"
    code, stdout, _ = run(capsys, "improve", str(start), "--ring", "Z", "--target-rank", "49",
                          "--max-flips", "200000000", "--time-limit", "600", "--seed", "0",
                          "--out", str(out), "--quiet")
    assert code == 0, stdout
    s = formats.read_scheme(out).scheme
    assert s.ring == "Z" and s.rank == 49 and s.is_integral and tensors.verify(s, "Z").valid


def test_from_scratch_with_shape_reads_no_catalogue(tmp_path, capsys, monkeypatch):
    """No FILE: the walk starts from the schoolbook scheme of --shape and never reads the
    catalogue (hidden here: a folder without an index)."""
    empty = tmp_path / "no-kernels"
    empty.mkdir()
    monkeypatch.setenv("ALPHAALGO_KERNELS", str(empty))
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,2,3", "--ring", "Z2", "--target-rank",
                          "11", "--time-limit", "60", "--seed", "1", "--quiet", "--out", str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 11 and rec.scheme.shape == (2, 2, 3)
    assert tensors.verify(rec.scheme, "Z2").valid
    assert rec.provenance["input"] == "schoolbook 2,2,3"
    assert rec.provenance["command"].startswith("alphaalgo improve --ring Z2 --seed 1")
    # where each walk went, not only the best (here the walk that found it)
    walks = rec.provenance["walks"]
    assert any(w["start_rank"] == 12 and w["rank"] == 11 for w in walks), walks
    assert sum(w["flips"] for w in walks) == rec.provenance["flips"]


@pytest.mark.parametrize("argv, message", [
    (["--ring", "Z2"], "give a starting scheme FILE, or --shape"),
    (["--shape", "2,2,2", "--ring", "Z2", "--key", "x"], "--key picks a scheme of FILE"),
    (["--shape", "64,64,64", "--ring", "Z"], "exceeds the limit"),
    (["kernels/schemes/alphatensor-z-3x3x3-r23.json", "--ring", "ZT"], "not valid over ZT"),
    (["--shape", "2,2,2", "--ring", "ZT", "--method", "lift"], "it is for --ring Z"),
    (["--shape", "2,2,2", "--ring", "Z2", "--method", "lift3"], "it is for --ring Z"),
    (["--shape", "2,2,2", "--ring", "ZT", "--minimize", "additions"], "needs --ring Z"),
    (["--shape", "2,2,2", "--ring", "Z2", "--guard"], "--guard keeps a lifting walk"),
    (["--shape", "2,2,2", "--ring", "Z", "--method", "flips", "--guard"],
     "--guard keeps a lifting walk"),
    (["--shape", "2,2,2", "--ring", "Z", "--guard", "--walks", "population"],
     "--guard applies to 'pool', 'start' and 'stepdown' walks"),
])
def test_from_scratch_and_ternary_bad_input(tmp_path, capsys, argv, message):
    from alphaalgo.catalog import kernels_dir

    argv = [str(kernels_dir() / a[len("kernels/"):]) if a.startswith("kernels/") else a for a in argv]
    out = tmp_path / "s.json"
    code, _, err = run(capsys, "improve", *argv, "--out", str(out))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_guarded_lifting_walk_from_scratch(tmp_path, capsys):
    """--guard: the lifting walk reaches the Z record of a small shape and writes it."""
    out = tmp_path / "g.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,3,3", "--ring", "Z", "--guard",
                          "--target-rank", "15", "--time-limit", "60", "--workers", "1",
                          "--quiet", "--out", str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 15 and tensors.verify(rec.scheme, "Z").valid
    assert "--guard" in rec.provenance["command"].split()  # the command that reproduces it


def test_a_lifting_walk_says_how_far_down_the_z2_walk_went(tmp_path, capsys, monkeypatch):
    """When the Z2 walk goes below what lifts, the summary and the provenance say so."""
    from alphaalgo.localsearch import walk

    real = walk._lift_integral
    monkeypatch.setattr(walk, "_lift_integral", lambda s: real(s) if s.rank >= 25 else None)
    src = write(tmp_path / "n333.json", tensors.naive_scheme(3, 3, 3))
    out = tmp_path / "l.json"
    code, stdout, _ = run(capsys, "improve", str(src), "--ring", "Z", "--target-rank", "23",
                          "--max-flips", "2000000", "--seed", "4", "--workers", "1",
                          "--walks", "pool", "--quiet", "--out", str(out))
    rec = formats.read_scheme(out)
    assert code == 1 and rec.scheme.rank == 25 and tensors.verify(rec.scheme, "Z").valid
    assert rec.provenance["walk_rank"] < 25
    assert f"went down to rank {rec.provenance['walk_rank']}, where none" in stdout


def test_ternary_walk_stays_in_minus_one_zero_one(tmp_path, capsys):
    """--ring ZT: flips over {-1, 0, 1} only; the result holds over every ring."""
    out = tmp_path / "t.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "3,3,3", "--ring", "ZT", "--target-rank",
                          "23", "--time-limit", "60", "--seed", "2", "--quiet", "--out", str(out))
    assert code == 0, stdout
    s = formats.read_scheme(out).scheme
    assert s.rank == 23 and s.max_abs_coefficient() == 1
    assert tensors.verify(s, "ZT").valid and tensors.verify(s).label == "ZT"


def test_fewer_additions_from_scratch_names_its_start(tmp_path, capsys):
    out = tmp_path / "a.json"
    code, _, _ = run(capsys, "improve", "--shape", "2,2,2", "--ring", "Z", "--minimize",
                     "additions", "--time-limit", "1", "--quiet", "--out", str(out))
    assert code in (0, 1)
    rec = formats.read_scheme(out)
    assert rec.provenance["input"] == "schoolbook 2,2,2" and rec.provenance["seed"] == 0
    assert tensors.verify(rec.scheme, "Z").valid and rec.scheme.rank <= 8


def test_workers_reach_the_target_and_bad_workers_exit_2(tmp_path, capsys):
    out = tmp_path / "w.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "3,3,3", "--ring", "Z2", "--target-rank",
                          "23", "--workers", "2", "--quiet", "--out", str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 23 and "--workers 2" in rec.provenance["command"]
    code, _, err = run(capsys, "improve", "--shape", "3,3,3", "--ring", "Z2", "--workers", "0",
                       "--out", str(tmp_path / "x.json"))
    assert code == 2 and "--workers" in err and not (tmp_path / "x.json").exists()


def test_store_feeds_constructions_for_larger_shapes(tmp_path, capsys, monkeypatch):
    """--store keeps each result; a later run from scratch on a larger shape starts from a
    construction of what the store holds (here ⟨2,2,2⟩ 7 side by side: ⟨2,2,4⟩ 14) and
    never reads the catalogue."""
    from alphaalgo.store import Store

    empty = tmp_path / "no-kernels"
    empty.mkdir()
    monkeypatch.setenv("ALPHAALGO_KERNELS", str(empty))
    db = tmp_path / "r.sqlite"
    for shape, target in (("2,2,2", "7"), ("2,2,4", "14")):
        out = tmp_path / f"{shape}.json"
        code, stdout, _ = run(capsys, "improve", "--shape", shape, "--ring", "Z2", "--target-rank",
                              target, "--store", str(db), "--workers", "1", "--time-limit", "60",
                              "--quiet", "--out", str(out))
        assert code == 0, stdout
    rec = formats.read_scheme(tmp_path / "2,2,4.json")
    assert rec.scheme.rank == 14 and rec.provenance["input"].startswith("construction from")
    assert "--store" in rec.provenance["command"]
    with Store(db, readonly=True) as st:
        assert {(tuple(r["shape"]), r["best_rank"]) for r in st.best_ranks()} == {
            ((2, 2, 2), 7), ((2, 2, 4), 14)}
    same = tmp_path / "s.json"
    code, _, err = run(capsys, "improve", "--shape", "2,2,2", "--ring", "Z2", "--store",
                       str(same), "--out", str(same))
    assert code == 2 and "two outputs name the same file" in err and not same.exists()


def test_a_projection_of_a_larger_scheme_is_walked_beside_a_lower_start(tmp_path, capsys,
                                                                         monkeypatch):
    """The store holds the engine's ⟨2,5,5⟩ 40 and ⟨5,5,5⟩ 93 (shipped in kernels/, read
    here as plain files). The lowest start is two 40s side by side (80), which walks to a
    plateau at 79; the projection of the 93 (rank 84) is walked too, and from there the
    walk goes below 79 within a million flips."""
    from alphaalgo.store import Store

    kernels = Path(__file__).resolve().parent.parent / "kernels" / "schemes"
    empty = tmp_path / "no-kernels"
    empty.mkdir()
    monkeypatch.setenv("ALPHAALGO_KERNELS", str(empty))
    db = tmp_path / "r.sqlite"
    with Store(db) as st:
        for name in ("alphaalgo-z-5x5x5-r93.json", "alphaalgo-z-2x5x5-r40.json"):
            st.add_scheme(formats.read_scheme(kernels / name).scheme.replace(ring="Z2"),
                          {"source": f"kernels/schemes/{name}"})
    out = tmp_path / "r.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "4,5,5", "--ring", "Z2", "--store",
                          str(db), "--target-rank", "78", "--max-flips", "3000000",
                          "--workers", "1", "--seed", "0", "--quiet", "--out", str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank <= 78 and tensors.verify(rec.scheme, "Z2").valid
    assert "rank 80, the best projection (rank 84)" in rec.provenance["input"]


@pytest.mark.parametrize("argv, message", [
    (["--ray-address", "127.0.0.1:1"], "--ray-address: only with --backend ray"),
    (["--backend", "ray", "--ray-address", "127.0.0.1:1"], "cannot reach a Ray cluster"),
])
def test_ray_backend_bad_input_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "s.json"
    code, _, err = run(capsys, "improve", "--shape", "2,2,2", "--ring", "Z2", *argv,
                       "--out", str(out))
    assert code == 2 and message in err and not out.exists()


@pytest.mark.parametrize("walks", ["stepdown", "population"])
def test_organised_walks_reach_the_target(tmp_path, capsys, walks):
    """--walks stepdown (a pool per rank) and population (walkers in turns) reach ⟨2,3,3⟩ 15
    over Z2 from scratch, and the command in the provenance repeats the choice."""
    out = tmp_path / f"{walks}.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,3,3", "--ring", "Z2", "--target-rank",
                          "15", "--walks", walks, "--walk", "200000", "--pool", "8",
                          "--workers", "1", "--seed", "1", "--quiet", "--out", str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 15 and tensors.verify(rec.scheme, "Z2").valid
    assert f"--walks {walks} --walk 200000 --pool 8" in rec.provenance["command"]
