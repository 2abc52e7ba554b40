"""Several walkers at once, one process each: ``search`` on K cores.

Worker i runs :func:`.walk.search` with seed ``seed + i`` and the same
settings (from start ``i mod len(starts)`` when several starts are given, or, when
there are more starts than workers, from its share of them in turn); the first to reach the target rank stops the others, and the result
is the lowest-rank scheme of all (ties: the lowest worker index).  Processes
are forked after the kernels are loaded in the parent, so a worker starts
walking at once; before that the parent walks ``QUICK_FLIPS`` flips itself and
returns at once if they reach the target (small problems never fork).  With a flip budget and no target the result does not
depend on timing; with a time limit or a target it can (which worker gets
there first).
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
from typing import Any, Sequence

from ..tensors import Scheme
from .walk import LiftError, ProgressFn, SearchResult, search


QUICK_FLIPS = 1_000_000
"""Flips walked in the parent before forking (a fraction of a second)."""


def run_walker(starts: Scheme | Sequence[Scheme], seed: int, kwargs: dict[str, Any],
               **more: Any) -> tuple[str, Any]:
    """One walker (from each of its starts in turn, sharing its budget), its outcome
    as data for another process: ``("ok", SearchResult)``, ``("lift", (message,
    schemes))`` when nothing lifted, ``("error", why)``."""
    mine = [starts] if isinstance(starts, Scheme) else list(starts)
    progress = more.pop("progress", None)
    try:
        return "ok", _in_turn(mine, seed, progress, dict(kwargs, **more))
    except LiftError as exc:
        return "lift", (str(exc), exc.schemes)
    except Exception as exc:  # reported by the parent as its own error
        return "error", f"{type(exc).__name__}: {exc}"


def share_of(starts: Sequence[Scheme], index: int, workers: int) -> list[Scheme]:
    """The starts worker ``index`` of ``workers`` walks: start ``index mod len(starts)``
    when there are no more starts than workers, else every ``workers``-th from
    ``index`` (in turn), so that every start is walked."""
    if len(starts) <= workers:
        return [starts[index % len(starts)]]
    return list(starts[index::workers])


def _worker(index: int, mine: list[Scheme], seed: int, kwargs: dict[str, Any], shared, stop,
            results) -> None:
    def progress(rank: int, flips: int, seconds: float) -> None:
        shared[2 * index] = rank
        shared[2 * index + 1] = flips

    kind, payload = run_walker(mine, seed, kwargs, progress=progress, stop=stop.is_set)
    target = kwargs.get("target_rank")
    if kind == "ok" and target is not None and payload.scheme.rank <= target:
        stop.set()
    results.put((index, kind, payload))


def parallel_search(scheme: Scheme | Sequence[Scheme], *, workers: int, seed: int = 0,
                    progress: ProgressFn | None = None, **kwargs: Any) -> SearchResult:
    """:func:`.walk.search` in ``workers`` processes (seeds ``seed .. seed+workers-1``);
    the other arguments are ``search``'s.  ``scheme`` may be a list of starts (worker i
    walks from :func:`share_of` them, in turn when it has several; with one worker they
    all share its budget in turn).
    ``workers == 1`` with one start is ``search`` itself."""
    if workers < 1:
        raise ValueError(f"workers must be ≥ 1, got {workers}")
    if kwargs.get("time_limit") is None and kwargs.get("max_flips") is None:
        raise ValueError("give a time limit or a number of flips")
    starts = [scheme] if isinstance(scheme, Scheme) else list(scheme)
    if workers == 1:
        return _in_turn(starts, seed, progress, kwargs)
    scheme = starts[0]
    # First a short walk here, which also loads the kernels before forking: a small
    # problem is solved before any process starts.
    warm = {k: v for k, v in kwargs.items() if k not in ("time_limit", "max_flips")}
    quick_flips = min(kwargs.get("max_flips") or QUICK_FLIPS, QUICK_FLIPS)
    for i, start in enumerate(starts):
        try:
            quick = search(start, seed=seed, max_flips=quick_flips if i == 0 else 1, **warm)
            if i == 0 and quick.reached_target:
                return quick
        except LiftError:
            pass
    ctx = mp.get_context("fork")
    shared = ctx.Array("q", [scheme.rank, 0] * workers, lock=False)
    stop = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(i, share_of(starts, i, workers), seed + i, kwargs,
                                               shared, stop, results), daemon=True)
             for i in range(workers)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    got: dict[int, tuple[str, Any]] = {}
    try:
        while len(got) < workers:
            try:
                index, kind, payload = results.get(timeout=0.2)
                got[index] = (kind, payload)
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs) and results.empty():
                    break
            if progress is not None:
                progress(min(shared[0::2]), sum(shared[1::2]), time.monotonic() - t0)
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    return merge_results(got, workers, time.monotonic() - t0)


def _in_turn(starts: list[Scheme], seed: int, progress: ProgressFn | None,
             kwargs: dict[str, Any]) -> SearchResult:
    """One walker: each start gets an equal share of the budget, in turn, until one
    reaches the target."""
    if len(starts) == 1:
        return search(starts[0], seed=seed, progress=progress, **kwargs)
    share = dict(kwargs)
    if kwargs.get("time_limit") is not None:
        share["time_limit"] = kwargs["time_limit"] / len(starts)
    if kwargs.get("max_flips") is not None:
        share["max_flips"] = max(1, kwargs["max_flips"] // len(starts))
    got: dict[int, tuple[str, Any]] = {}
    t0 = time.monotonic()
    for i, start in enumerate(starts):
        try:
            res = search(start, seed=seed + i, progress=progress, **share)
        except LiftError as exc:
            got[i] = ("lift", (str(exc), exc.schemes))
            continue
        got[i] = ("ok", res)
        if res.reached_target:
            break
    return merge_results(got, len(got), time.monotonic() - t0)


def merge_results(got: dict[int, tuple[str, Any]], workers: int, seconds: float) -> SearchResult:
    """The best of the walkers' results (ties: the lowest index), flips and restarts
    summed, every walk's summary kept (``walks``, in index order)."""
    errors = [payload for kind, payload in got.values() if kind == "error"]
    if errors:
        raise RuntimeError(f"a search worker failed: {errors[0]}")
    done = [(i, payload) for i, (kind, payload) in sorted(got.items()) if kind == "ok"]
    if len(got) < workers and not done:
        raise RuntimeError("search workers exited without a result")
    if not done:
        message, schemes = next(payload for kind, payload in got.values() if kind == "lift")
        raise LiftError(message, list(schemes))
    _, best = min(done, key=lambda item: (item[1].scheme.rank, item[0]))
    return SearchResult(scheme=best.scheme, pool=best.pool, start_rank=best.start_rank,
                        flips=sum(r.flips for _, r in done), seconds=seconds,
                        restarts=sum(r.restarts for _, r in done),
                        reached_target=any(r.reached_target for _, r in done),
                        history=best.history, walk_rank=min(r.walk_rank for _, r in done),
                        walks=tuple(w for _, r in done for w in r.walks))
