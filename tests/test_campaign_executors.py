"""One campaign loop, every executor (pgx's ``api_test`` in spirit): the same
assertions hold for the local executor and the Ray executor, the hardware loop
included — each new scheme at the best rank is timed on the target device once
per configuration, stored, and read by the reward."""

from __future__ import annotations

import collections
import dataclasses
import os

import pytest

from alphaalgo import presets, tensors
from alphaalgo.campaign import Campaign, CampaignSpec, with_speed_weight
from alphaalgo.store import Store
from campaign_checks import assert_one_campaign_persisted


def _local():
    return None                                   # Campaign's default: local_executor


def _ray():
    pytest.importorskip("ray")
    import ray

    from alphaalgo.distributed import RaySettings, ray_executor

    if ray.is_initialized():
        ray.shutdown()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return ray_executor(RaySettings(actors=1))


EXECUTORS = {"local": _local, "ray": _ray}


@pytest.fixture(params=sorted(EXECUTORS))
def executor(request):
    make = EXECUTORS[request.param]()
    yield request.param, make
    if request.param == "ray":
        import ray

        ray.shutdown()


def _spec(tmp_path, **kw) -> CampaignSpec:
    pre = with_speed_weight(presets.load_preset("tiny"), 0.1)
    pre = dataclasses.replace(pre, acting=dataclasses.replace(pre.acting, localsearch_seconds=0.5))
    base = dict(shape=(2, 2, 2), ring="Z", preset=pre, store=str(tmp_path / "s.db"),
                time_limit=25, seed=2, bench_size=64, bench_grace=300)
    base.update(kw)
    return CampaignSpec(**base)


def test_the_same_campaign_on_every_executor(tmp_path, executor):
    name, make = executor
    logs: list[str] = []
    result = Campaign(_spec(tmp_path), log=logs.append, executor=make).run()
    assert result.stats.games > 0 and result.stats.rounds > 0
    assert result.best is not None and tensors.verify(result.best).valid
    with Store(tmp_path / "s.db") as s:
        camp, stored = assert_one_campaign_persisted(s, name)
        # The hardware loop: measured rows, each a real comparison on this device...
        rows = s.benchmarks()
        assert rows, logs
        for row in rows:
            assert row["size"] == [64, 64, 64] and row["dtype"] == "float64"
            assert row["result"]["max_rel_error"] < 1e-10 and row["result"]["speedup"] > 0
        # ... and never two for one scheme, device and configuration.
        keys = collections.Counter((r["scheme_hash"], r["device"], r["backend"], tuple(r["size"]),
                                    r["dtype"], r["levels"]) for r in rows)
        assert max(keys.values()) == 1, keys
        # Only schemes that were stored at some point were timed.
        assert {r["scheme_hash"] for r in rows} <= {x.hash for x in stored}
        # The result is the fastest measured of the schemes at the best rank.
        from alphaalgo import bench

        at_best = [x.scheme for x in stored if x.rank == result.best.rank and x.scheme.is_real]
        fastest = at_best[bench.choose_fastest(at_best, s, rows[0]["device"])]
        assert tensors.canonical_hash(result.best) == tensors.canonical_hash(fastest)

    # Resuming goes on with the same campaign and times nothing again.
    again = Campaign(dataclasses.replace(_spec(tmp_path), resume=True, time_limit=10),
                     log=logs.append, executor=make).run()
    assert any(m.startswith(f"resumed campaign {camp['id']} from step") for m in logs), logs
    assert again.campaign_id == camp["id"]
    with Store(tmp_path / "s.db") as s:
        keys = collections.Counter((r["scheme_hash"], r["device"], tuple(r["size"]), r["dtype"])
                                   for r in s.benchmarks())
        assert max(keys.values()) == 1, keys


def test_without_a_speed_weight_nothing_is_timed(tmp_path):
    pre = presets.load_preset("tiny")
    result = Campaign(_spec(tmp_path, preset=pre, time_limit=8), log=lambda m: None).run()
    assert result.stats.games > 0
    with Store(tmp_path / "s.db") as s:
        assert s.benchmarks() == []


def test_the_reward_reads_the_measurement(tmp_path):
    """Once a scheme is measured, its speed score is the measurement, not the cost model."""
    from alphaalgo import bench, catalog

    camp = Campaign(_spec(tmp_path), log=lambda m: None)
    s = catalog.strassen()
    with Store(tmp_path / "s.db") as store:
        before = camp._speed(store, s)
        assert before == pytest.approx(bench.estimate_speedup(s))
        result = bench.benchmark(s, "numba", (64, 64, 64), "float64", 1, repeats=1)
        bench.record(store, s, result)
        assert camp._speed(store, s) == pytest.approx(result.speedup)
    camp.executor.close()


def test_results_shows_the_measured_speed(tmp_path, capsys):
    from alphaalgo import bench, catalog
    from alphaalgo.cli import main

    s = catalog.strassen()
    with Store(tmp_path / "s.db") as store:
        store.add_scheme(s, {"source": "test"})
        result = bench.benchmark(s, "numba", (64, 64, 64), "float64", 1, repeats=1)
        bench.record(store, s, result)
    assert main(["results", "--store", str(tmp_path / "s.db")]) == 0
    out = capsys.readouterr().out
    assert f"measured {result.speedup:.3f}× vs vendor at 64x64x64 float64" in out


def test_a_measured_scheme_is_demonstrated_by_its_speed(tmp_path):
    """The score's second use: a scheme measured at the best rank is demonstrated again,
    ``⌊λ·b·256⌋ // rank`` games, so a faster scheme weighs more in training."""
    from alphaalgo import bench, catalog
    from alphaalgo.executors import BENCH, Done, Job

    lam = 2.0
    camp = Campaign(_spec(tmp_path, preset=with_speed_weight(presets.load_preset("tiny"), lam)),
                    log=lambda m: None)
    camp._call("init", 0)
    s = catalog.strassen()
    camp.best = s
    result = bench.benchmark(s, "numba", (64, 64, 64), "float64", 1, repeats=1)
    with Store(tmp_path / "s.db") as store:
        before = camp._call("demonstrate")
        camp._bench_done(store, Done(Job(BENCH, (), tag=s), result=result))
        after = camp._call("demonstrate")
        assert s.rank * max(1, int(lam * result.speedup * 256) // s.rank) == after - before
        assert len(store.benchmarks()) == 1
        # Not at the best rank: stored, not demonstrated.
        naive = tensors.naive_scheme(2, 2, 2)
        slow = bench.benchmark(naive, "numba", (64, 64, 64), "float64", 1, repeats=1)
        camp._bench_done(store, Done(Job(BENCH, (), tag=naive), result=slow))
        assert len(store.benchmarks()) == 2
        assert camp._call("demonstrate") == after
    camp.executor.close()
