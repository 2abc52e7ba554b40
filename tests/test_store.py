"""The SQLite results store: dedup, verification, concurrency, bad stores."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sqlite3
import stat

import numpy as np
import pytest

from alphaalgo import catalog, tensors
from alphaalgo.cli import main
from alphaalgo.store import Store, StoreError


def _variants(count: int) -> list[tensors.Scheme]:
    """Distinct valid ⟨2,2,2⟩ schemes: Strassen under basis changes."""
    base = catalog.strassen()
    out, seen = [], set()
    k = 1
    while len(out) < count:
        p = np.array([[1, k], [0, 1]])
        q = np.array([[1, 0], [k % 3, 1]])
        s = tensors.change_basis(base, p, q, np.eye(2, dtype=np.int64))
        h = tensors.canonical_hash(s)
        if h not in seen:
            seen.add(h)
            out.append(s)
        k += 1
    return out


def test_schemes_are_verified_and_deduplicated(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        cid = store.create_campaign("c1", {"shape": [2, 2, 2]})
        sid, new = store.add_scheme(catalog.strassen(), {"source": "test"}, cid)
        assert new
        # The same scheme with its terms reordered and signs moved is the same scheme.
        s = tensors.permute_terms(catalog.strassen(), [6, 5, 4, 3, 2, 1, 0])
        sid2, new2 = store.add_scheme(s.replace(u=-s.u, w=-s.w), {"source": "again"})
        assert (sid2, new2) == (sid, False)
        store.add_scheme(tensors.naive_scheme(2, 2, 2), {"source": "naive"})
        bad = catalog.strassen()
        u = bad.u.copy()
        u[0, 0] = 0
        with pytest.raises(ValueError, match="invalid"):
            store.add_scheme(bad.replace(u=u), {})
        best = store.best_scheme((2, 2, 2), "Z")
        assert best.rank == 7 and best.provenance == {"source": "test"}
        assert tensors.verify(best.scheme).valid and best.campaign_id == cid
        assert [s.rank for s in store.list_schemes((2, 2, 2), "Z")] == [7, 8]
        assert store.best_scheme((3, 3, 3), "Z") is None
        assert store.best_ranks() == [{"shape": [2, 2, 2], "ring": "Z", "best_rank": 7,
                                       "schemes_at_best": 1, "schemes": 2}]


def test_rational_and_z2_schemes_round_trip(tmp_path, reference_dir):
    from alphaalgo import formats
    rec = [r for r in formats.read_schemes(reference_dir / "factorizations_r.npz")
           if r.name == "3,4,11"][0]
    with Store(tmp_path / "s.sqlite") as store:
        store.add_scheme(rec.scheme, {"source": "alphatensor"})
        store.add_scheme(catalog.strassen(ring="Z2"), {"source": "z2"})
        assert store.best_scheme((3, 4, 11), "Z").scheme == rec.scheme
        assert store.best_scheme((2, 2, 2), "Z2").scheme == catalog.strassen(ring="Z2")


def test_campaigns_benchmarks_examples_checkpoints(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        cid = store.create_campaign("c", {"lr": 1e-3})
        assert store.find_campaign("c") == cid and store.find_campaign("x") is None
        assert store.campaign(cid)["config"] == {"lr": 1e-3}
        with pytest.raises(StoreError, match="exists"):
            store.create_campaign("c", {})
        store.add_benchmark("abc", "cpu0", "numba", (64, 64, 64), "float64", 1, {"speedup": 1.1})
        store.add_benchmark("abc", "cpu0", "numba", (64, 64, 64), "float64", 1, {"speedup": 1.2})
        assert store.find_benchmark("abc", "cpu0", "numba", (64, 64, 64), "float64", 1) == \
            {"speedup": 1.2}
        assert store.find_benchmark("abc", "gpu", "numba", (64, 64, 64), "float64", 1) is None
        x = np.arange(12, dtype=np.int8).reshape(3, 4)
        store.add_examples(cid, "demo", {"x": x, "y": np.ones(3)})
        got = list(store.iter_examples(cid, "demo"))
        assert len(got) == 1 and np.array_equal(got[0]["x"], x)
        with pytest.raises(ValueError, match="numeric"):
            store.add_examples(cid, "demo", {"x": np.array([object()])})
        ck = tmp_path / "ck.npz"
        ck.write_bytes(b"x")
        store.record_checkpoint(cid, 10, str(ck))
        store.record_checkpoint(cid, 20, str(tmp_path / "gone.npz"))
        assert store.latest_checkpoint(cid) == (10, str(ck))


def _writer(path: str, worker: int, schemes_json: list[str], rows: int) -> None:
    from alphaalgo import formats
    with Store(path) as store:
        for i in range(rows):
            store.add_examples(None, f"w{worker}", {"i": np.array([i])})
            store.add_benchmark(f"h{worker}", "cpu", "numba", (8, 8, 8), "float64", 1, {"i": i})
        for text in schemes_json:
            scheme = formats.scheme_from_json(json.loads(text)).scheme
            store.add_scheme(scheme, {"worker": worker})


def test_two_processes_writing_one_store_lose_nothing(tmp_path):
    from alphaalgo import formats
    path = str(tmp_path / "shared.sqlite")
    Store(path).close()
    variants = _variants(24)
    texts = [json.dumps(formats.scheme_to_json(formats.SchemeRecord("", s, {}))) for s in variants]
    # Overlapping halves: 0..15 and 8..23, so both race on 8..15.
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, texts[w * 8: w * 8 + 16], 60))
             for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        assert store.count_examples(kind="w0") == 60 and store.count_examples(kind="w1") == 60
        assert len(store.benchmarks()) == 120
        stored = store.list_schemes((2, 2, 2), "Z")
        assert sorted(s.hash for s in stored) == sorted(tensors.canonical_hash(s) for s in variants)


def test_many_openers_of_a_new_store_all_succeed(tmp_path):
    """Processes started together on a store that does not exist yet (a benchmark's
    parallel runs): creating it and switching it to write-ahead logging waits for
    the others instead of failing with "database is locked"."""
    import threading

    path = tmp_path / "new.sqlite"
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def opener(i: int) -> None:
        try:
            barrier.wait()
            with Store(path) as store:
                store.add_examples(None, f"t{i}", {"i": np.array([i])})
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with Store(path) as store:
        assert store.count_examples() == 6


def test_not_a_store_and_read_only(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.sqlite"):
        Store(junk)
    with pytest.raises(StoreError, match="no such store"):
        Store(tmp_path / "missing.sqlite", readonly=True)
    path = tmp_path / "ro.sqlite"
    with Store(path) as store:
        store.add_scheme(catalog.strassen(), {"source": "x"})
    with Store(path, readonly=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.add_scheme(tensors.naive_scheme(2, 2, 2), {})
        assert len(store.list_schemes()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file(tmp_path):
    path = tmp_path / "ro.sqlite"
    Store(path).close()
    os.chmod(path, stat.S_IRUSR)
    with pytest.raises(StoreError):
        with Store(path) as store:
            store.add_scheme(catalog.strassen(), {})


def test_results_command(tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        cid = store.create_campaign("demo", {})
        store.add_scheme(catalog.strassen(), {"source": "agent"}, cid)
        store.add_scheme(tensors.naive_scheme(2, 2, 2), {"source": "naive"})
    assert main(["results", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2,2,2" in out and "campaign demo" in out
    assert main(["results", "--store", str(path), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["best"][0]["best_rank"] == 7 and obj["best"][0]["best_known"] == 7
    assert len(obj["schemes"]) == 2
    assert main(["results", "--store", str(tmp_path / "none.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "no such store" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.sqlite").exists()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_full_disk_is_a_clear_error_and_the_store_stays_intact(tmp_path):
    path = tmp_path / "full.sqlite"
    with Store(path) as store:
        store.add_scheme(catalog.strassen(), {"source": "x"})
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        # Let the file grow no further: SQLite then fails exactly as on a full disk.
        store._conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreError, match="full"):
            store.add_examples(None, "big", {"x": np.random.default_rng(0).random(200_000)})
        assert store.count_examples() == 0
        assert store.integrity_check() == "ok"
        assert len(store.list_schemes()) == 1


def test_results_reads_a_store_in_a_read_only_folder(tmp_path):
    """``results`` only reads: a store in a folder nobody may write (where SQLite cannot
    make its shared-memory file) is still listed.  The folder is made read-only by a
    bind mount in a private user namespace, which holds for root too."""
    import shutil
    import subprocess
    import sys

    from alphaalgo import catalog

    if shutil.which("unshare") is None:
        pytest.skip("no unshare on this machine")
    folder = tmp_path / "ro"
    folder.mkdir()
    with Store(folder / "s.sqlite") as s:
        s.add_scheme(catalog.strassen(), {"source": "test"})
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not allowed here")
    code = "import sys; from alphaalgo.cli import main; sys.exit(main(sys.argv[1:]))"
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
              f"! touch {folder}/probe 2>/dev/null && "
              f"exec {sys.executable} -c '{code}' results --store {folder}/s.sqlite")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "2,2,2" in proc.stdout and "rank 7" in proc.stdout
