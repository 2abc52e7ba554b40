"""Where a campaign's work runs: jobs as data, executors as bundles of functions.

The campaign loop (:mod:`alphaalgo.campaign`) is one piece of code for every
backend.  It hands an :class:`Executor` three kinds of :class:`Job` — *play* a
round of self-play games with given parameters, *localsearch* from a scheme,
*bench* a scheme's kernel on the target device — and takes back
:class:`Done` results as they finish.  The trainer (parameters, optimiser,
replay) lives where the executor keeps it and is reached through ``call``.

* :func:`local_executor` (the default): play and local search in this process,
  benchmarks in one worker process (so that timing a kernel does not stall
  play, and the kernel is timed away from JAX's threads);
* ``alphaalgo.distributed.ray_executor``: self-play actors, a learner actor and
  tasks placed by resources on a Ray cluster.

As optax's ``GradientTransformation`` is a pair of functions, an executor is a
frozen dataclass of functions; nothing is subclassed and no hook is overridden.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import time
from typing import Any, Callable

import numpy as np

from .tensors import Scheme

PLAY, LOCALSEARCH, BENCH = "play", "localsearch", "bench"
KINDS = (PLAY, LOCALSEARCH, BENCH)


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of work.

    Attributes:
      kind: ``"play"``, ``"localsearch"`` or ``"bench"``.
      args: play: ``(params, round, endgames)`` (``endgames``: a
        :class:`~alphaalgo.player.Endgames` or None); localsearch: ``(scheme, seconds, seed, target_rank, speed)``;
        bench: ``(scheme, backend, size (M, K, N), dtype, repeats)``.
      tag: anything the loop wants back with the result (not sent to workers).
    """

    kind: str
    args: tuple
    tag: Any = None


@dataclasses.dataclass(frozen=True)
class Done:
    """A finished job.

    Attributes:
      job: the job.
      result: play: a :class:`~alphaalgo.player.Played`; localsearch: ``(scheme or None,
        why)``; bench: a :class:`~alphaalgo.bench.BenchResult`.  ``None`` on error.
      error: why the job failed, or ``""``.
      node: where it ran (``"local"`` or a Ray node).
      seconds: wall time the job took where it ran.
    """

    job: Job
    result: Any = None
    error: str = ""
    node: str = "local"
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class Executor:
    """The functions a campaign loop runs its work through.

    Attributes:
      name: ``"local"`` or ``"ray"`` (stored with the campaign).
      call: ``call(method, *args)``: a :class:`~alphaalgo.trainer.Trainer` method, run
        where the trainer lives; returns its result.
      start: ``start()``, once before the first play job (e.g. start actors).
      submit: ``submit(job)``: queue a job; returns at once.
      wait: ``wait(timeout, kinds)``: finished jobs of ``kinds`` (every kind for
        ``None``), at least one unless ``timeout`` seconds (``None``: no limit) pass
        or none of those is pending; jobs of other kinds stay pending.
      pending: ``pending(kind)``: jobs of ``kind`` (any kind for ``None``) not yet returned.
      close: ``close()``: cancel what is left and release workers.
      play_slots: play jobs the loop keeps in flight.
      localsearch_slots: local-search jobs in flight at most (``None``: only the budget limits them).
      bench_device: ``bench_device()``: the device key benchmarks are stored under,
        ``None`` until known (a Ray node's is learnt from its first result).
      placement: ``placement()``: where work ran, for people (``""`` when local).
      bench_backend: the kernel backend benchmarks use (``numba``, or ``jax`` on a GPU).
      trainer: the :class:`~alphaalgo.trainer.Trainer` itself where it lives in this
        process (the local executor), for tests and notebooks that look inside; else None.
    """

    name: str
    call: Callable[..., Any]
    start: Callable[[], None]
    submit: Callable[[Job], None]
    wait: Callable[..., list[Done]]
    pending: Callable[[str | None], int]
    close: Callable[[], None]
    play_slots: int = 1
    localsearch_slots: int | None = None
    bench_device: Callable[[], str | None] = lambda: None
    placement: Callable[[], str] = lambda: ""
    bench_backend: str = "numba"
    trainer: Any = None


# ------------------------------------------------------------------ the jobs
def localsearch_job(scheme: Scheme, seconds: float, seed: int, target_rank: int | None,
                    speed: bool = False) -> tuple[Scheme | None, str]:
    """Local search from ``scheme`` for ``seconds``: ``(result, "")``, or ``(None, why)``
    when the local search cannot hold the scheme.  The result is not yet verified.

    With ``speed`` (a campaign with λ > 0), when the flip-graph walk does not lower
    the rank in the first half of the time, the second half walks same-rank schemes
    toward fewer executed additions (``localsearch.minimize_additions``): new
    schemes at the best rank for the hardware loop to time.
    """
    from . import localsearch

    try:
        walk = seconds / 2 if speed else seconds
        found = localsearch.search(scheme, ring=scheme.ring, target_rank=target_rank,
                                   time_limit=walk, seed=seed).scheme
        if speed and found.rank == scheme.rank and found.is_integral and found.ring == "Z":
            found = localsearch.minimize_additions(found, time_limit=seconds - walk,
                                                   seed=seed).scheme
        return found, ""
    except ValueError as exc:
        return None, str(exc)


def bench_scheme(scheme: Scheme, backend: str, size: tuple[int, int, int], dtype: str,
                 repeats: int):
    """Time ``scheme``'s one-level kernel against the vendor matmul (a BenchResult)."""
    from . import bench

    return bench.benchmark(scheme, backend, tuple(size), dtype, 1, repeats=repeats)


def _bench_in_worker(scheme: Scheme, backend: str, size, dtype: str, repeats: int):
    t = time.monotonic()
    return bench_scheme(scheme, backend, size, dtype, repeats), time.monotonic() - t


# ------------------------------------------------------------ local executor
def local_executor(game, target: np.ndarray, spec, log: Callable[[str], None] = print) -> Executor:
    """Everything on this machine: the trainer and the player in this process, local
    search inline (between rounds, within its budget), benchmarks in one worker
    process (spawned on first use)."""
    from .player import Player
    from .trainer import Trainer

    trainer = Trainer(game, spec.preset)
    player: list[Player] = []
    queue: list[Job] = []                      # play and local-search jobs, run when waited for
    benches: dict[cf.Future, Job] = {}
    pool: list[cf.ProcessPoolExecutor] = []

    def call(method: str, *args: Any) -> Any:
        return getattr(trainer, method)(*args)

    def start() -> None:
        if not player:
            player.append(Player(game, target, spec.preset, spec.seed, spec.shape))

    def submit(job: Job) -> None:
        if job.kind == BENCH:
            if not pool:
                pool.append(cf.ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")))
            benches[pool[0].submit(_bench_in_worker, *job.args)] = job
        elif job.kind in (PLAY, LOCALSEARCH):
            queue.append(job)
        else:
            raise ValueError(f"unknown job kind {job.kind!r}")

    def _finished_benches(timeout: float | None) -> list[Done]:
        if not benches:
            return []
        done, _ = cf.wait(list(benches), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out = []
        for fut in done:
            job = benches.pop(fut)
            try:
                result, seconds = fut.result()
                out.append(Done(job, result, "", "local", seconds))
            except Exception as exc:  # noqa: BLE001 - a worker's failure is reported, not raised
                out.append(Done(job, None, f"{type(exc).__name__}: {exc}", "local"))
        return out

    def wait(timeout: float | None, kinds: tuple[str, ...] | None = None) -> list[Done]:
        kinds = kinds or KINDS
        ready = _finished_benches(0) if BENCH in kinds else []
        if ready:
            return ready
        # Local search first: it works on what the last round found (as before the
        # next round is played); then the next round of games.
        for kind in (k for k in (LOCALSEARCH, PLAY) if k in kinds):
            job = next((j for j in queue if j.kind == kind), None)
            if job is None:
                continue
            queue.remove(job)
            t = time.monotonic()
            if kind == PLAY:
                start()
                result = player[0].play(*job.args)
            else:
                result = localsearch_job(*job.args)
            return [Done(job, result, "", "local", time.monotonic() - t)]
        return _finished_benches(timeout) if BENCH in kinds else []

    def pending(kind: str | None = None) -> int:
        n = sum(1 for j in queue if kind in (None, j.kind))
        return n + (len(benches) if kind in (None, BENCH) else 0)

    def close() -> None:
        queue.clear()
        for fut in benches:
            fut.cancel()
        benches.clear()
        if pool:
            pool[0].shutdown(wait=False, cancel_futures=True)
            pool.clear()

    def bench_device() -> str | None:
        from . import bench

        return bench.device_key("numba")

    return Executor("local", call, start, submit, wait, pending, close, play_slots=1,
                    localsearch_slots=None, bench_device=bench_device, trainer=trainer)
