"""A discovery campaign: acting, learning, verifying and storing, on one machine.

A campaign joins a :class:`~alphaalgo.player.Player` (rounds of self-play
games with the search) and a :class:`~alphaalgo.trainer.Trainer` (parameters,
replay, updates).  Each round's solved games become schemes (basis change
undone) that are verified exactly and stored, then walked by local search;
the best game the move limit cut off, completed one term per non-zero fiber,
is offered too when it beats the best so far (provenance ``agent+completion``),
so that local search has material before the agent solves games.  The games'
examples (improved policies and returns, plus λ·speed score for solved games
when the preset asks for it) go to the replay buffer and the store; a scheme
local search improved becomes a demonstration.  The trainer updates on a mix
of fresh synthetic demonstrations, those scheme demonstrations and self-play.
The store is the source of truth: schemes, self-play examples and
checkpoints (written atomically, recorded with ``Store.record_checkpoint``)
live there, and ``resume`` continues from the latest checkpoint.

:class:`Campaign` is one loop for every backend: it hands play, local-search and
benchmark :class:`~alphaalgo.executors.Job` s to an
:class:`~alphaalgo.executors.Executor` — :func:`~alphaalgo.executors.local_executor`
(this machine, the default) or ``alphaalgo.distributed.ray_executor`` (a Ray
cluster) — and takes their results as they finish.  With a speed weight λ > 0
every new scheme at the best rank that is valid over Z or Q is compiled and
timed on the target device once per (scheme, device, size, dtype); the
measurement is stored and read by the reward of later games (r' = r + λ·b),
and a measured scheme at the best rank is demonstrated again with weight λ·b.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import demos, game, learner, tensors
from .examples import Examples
from .executors import BENCH, PLAY, LOCALSEARCH, Done, Executor, Job, local_executor
from .game import GameConfig
from .presets import Preset
from .tensors import Scheme
from .trainer import DEMONSTRATIONS

__all__ = ["AGENT_SOURCES", "Campaign", "CampaignResult", "CampaignSpec", "Stats", "checkpoint_path",
           "game_config", "with_speed_weight"]


PRETRAIN_SHARE = 1 / 3
"""At most this share of a campaign's time limit goes to pretraining."""
PRETRAIN_CHUNK = 50
"""Pretraining updates between two looks at the clock."""

ENDGAME_SCHEMES = 64
"""Schemes a play job carries for its endgames at most (drawn anew each round)."""

FIRST_ROUND_MOVES = 8
"""Moves the first rounds of a run play even past the deadline (on a small shape most
games end within them; on ⟨4,4,4⟩ on a CPU they take minutes where the whole round
takes half an hour): a short run still learns from some of its own games."""

AGENT_SOURCES = ("agent", "agent+completion")
"""Provenance of the schemes a campaign's games give: solved games, and games that hit
the move limit completed by one term per non-zero fiber (``Played.completed``)."""


@dataclasses.dataclass(frozen=True)
class CampaignSpec:
    """What to discover and how.

    Attributes:
      shape: ``(n, m, p)`` of the matmul target, or None with ``target``.
      target: an explicit target tensor ``int (S1, S2, S3)``.
      ring: ``"Z"`` or ``"Z2"``.
      preset: the agent configuration.
      store: path of the results store.
      time_limit: seconds of acting and learning (set-up and compilation included;
        one round of games is always played).
      target_rank: stop as soon as a scheme of at most this rank is found.
      seed: the run's seed (everything random derives from it).
      out: where to write the best scheme (``.npz``/``.json``/...), or None.
      resume: continue the campaign of the same name from its latest checkpoint.
      params: parameters to start from (a checkpoint or pretrained ``.npz``), or None.
      warm_start: seed the replay buffer with the catalogue's best scheme.
      coefficients: override the preset's coefficient set.
      bench_size: N of the N×N×N product each new scheme is timed at (speed weight > 0).
      bench_dtype: ``"float64"`` or ``"float32"``, the dtype of that product.
      bench_grace: seconds the campaign waits, past its time limit, for benchmarks it
        started, so that what was measured is stored.
      demos: a store of real schemes of the target (``alphaalgo harvest``): its
        schemes of the shape and ring become demonstrations (``real_fraction`` of
        the synthetic share of every batch, each under a random symmetry).
    """

    shape: tuple[int, int, int] | None
    ring: str
    preset: Preset
    store: str
    time_limit: float = 600.0
    target_rank: int | None = None
    seed: int = 0
    out: str | None = None
    resume: bool = False
    params: str | None = None
    warm_start: bool = False
    target: np.ndarray | None = None
    coefficients: tuple[int, ...] = ()
    bench_size: int = 2048
    bench_dtype: str = "float64"
    bench_grace: float = 120.0
    demos: str | None = None

    def __post_init__(self):
        if not 16 <= int(self.bench_size) <= 16_384:
            raise ValueError(f"benchmark size must be between 16 and 16384, got {self.bench_size}")
        if self.bench_dtype not in ("float32", "float64"):
            raise ValueError(f"benchmark dtype must be float32 or float64, got {self.bench_dtype!r}")

    @property
    def name(self) -> str:
        what = ",".join(map(str, self.shape)) if self.shape else "target" + "x".join(
            map(str, np.shape(self.target)))
        return f"discover {what} {self.ring} {self.preset.name} seed {self.seed}"


@dataclasses.dataclass
class Stats:
    """Live figures of a campaign (the progress display shows them).

    ``agent_ranks`` counts the agent's solved games by rank and
    ``agent_reached_at`` is when one of them first reached the target rank by
    itself (``reached_at`` counts local search's schemes too).  ``endgame_k`` is
    the endgames' current k (0: none are played); ``endgames_won`` of
    ``endgames_played`` were solved at their scheme's rank or lower.
    """

    elapsed: float = 0.0
    rounds: int = 0
    games: int = 0
    solved: int = 0
    best_rank: int | None = None
    loss: float = float("nan")
    policy_loss: float = float("nan")
    value_loss: float = float("nan")
    updates: int = 0
    sims_per_second: float = 0.0
    schemes_stored: int = 0
    resumed_from: int | None = None
    reached_at: float | None = None
    agent_ranks: dict[int, int] = dataclasses.field(default_factory=dict)
    agent_reached_at: float | None = None
    endgame_k: int = 0
    endgames_played: int = 0
    endgames_won: int = 0

    def agent_summary(self) -> str:
        """The ranks the agent's own games ended with, e.g. ``rank 7 ×40, rank 8 ×310``
        (before any local search; the store keeps one row per distinct scheme)."""
        return ", ".join(f"rank {r} ×{n}" for r, n in sorted(self.agent_ranks.items())) or "none solved"


@dataclasses.dataclass(frozen=True)
class CampaignResult:
    """The outcome: the best verified scheme (or None), whether the target rank
    was reached, the final stats and the campaign's id in the store."""

    best: Scheme | None
    reached: bool
    stats: Stats
    campaign_id: int


def game_config(spec: CampaignSpec) -> GameConfig:
    """The game a campaign plays."""
    tgt = game.target_tensor(spec.shape, spec.target)
    p = spec.preset.game
    # one network for many shapes reads one coefficient set: {-1, 0, 1} (Z2: {0, 1})
    default = game.default_coefficients(spec.ring, (1, 1, 1) if spec.preset.network.multishape
                                        else spec.shape)
    coefs = spec.coefficients or p.coefficients or default
    naive = int(np.prod(spec.shape)) if spec.shape else tensors.slice_rank_bound(tgt)
    max_moves = p.max_moves or int(np.ceil(naive * p.move_slack))
    return GameConfig(tuple(tgt.shape), spec.ring, tuple(coefs), int(max_moves), p.history)


def checkpoint_path(store: str, campaign_id: int, step: int) -> Path:
    """Where campaign ``campaign_id`` of the store at ``store`` keeps its checkpoint of ``step``."""
    return Path(str(store) + ".checkpoints") / f"campaign-{campaign_id}" / f"step-{step:09d}.npz"


def own_basis(preset: Preset) -> Preset:
    """``preset`` with every game played in the target's own basis (``acting.basis_change``
    0).  A campaign over Z with real demonstrations (``CampaignSpec.demos``) plays so:
    over Z a real scheme only fits the coefficient set under the tensor's own
    symmetries, which fix the tensor, so its rows show moves on the target itself, not
    on the changed tensors of the other games (over Z2 the real rows go through the
    same basis changes as the games, ``demos.real_examples``).  Measured on ⟨2,2,2⟩,
    agent alone: with real demonstrations and changed bases 0 of 1 seeds played rank 7
    in 600 s, in the own basis 5 of 5 (benchmarks/RESULTS.md)."""
    return dataclasses.replace(preset, acting=dataclasses.replace(preset.acting, basis_change=0.0))


def with_speed_weight(preset: Preset, weight: float) -> Preset:
    """``preset`` with the benchmark term's weight λ set to ``weight``."""
    return dataclasses.replace(preset, acting=dataclasses.replace(preset.acting, speed_weight=float(weight)))


ExecutorFactory = Callable[[GameConfig, np.ndarray, CampaignSpec, Callable[[str], None]], Executor]


class Campaign:
    """Acting and learning for one :class:`CampaignSpec` (see the module doc).

    Args:
      spec: what to discover and how.
      report: called with the live :class:`Stats` after every round.
      log: where messages go.
      executor: makes the :class:`~alphaalgo.executors.Executor` the work runs
        through, ``(game, target, spec, log) -> Executor``; default
        :func:`~alphaalgo.executors.local_executor`.
    """

    def __init__(self, spec: CampaignSpec, report: Callable[[Stats], None] | None = None,
                 log: Callable[[str], None] = print, executor: ExecutorFactory | None = None):
        if spec.demos and spec.ring == "Z" and spec.preset.acting.basis_change > 0:
            spec = dataclasses.replace(spec, preset=own_basis(spec.preset))
            log("over Z the real demonstrations show the tensor itself (under its own "
                "symmetries), so every game is played in the target's own basis")
        self.spec, self.report, self.log = spec, report, log
        self.game = game_config(spec)
        self.target = game.target_tensor(spec.shape, spec.target)
        self.stats = Stats()
        self.best: Scheme | None = None
        self.campaign_id = -1
        self.name = spec.name
        self._localsearch_budget = 0.0    # local-search seconds left in this round
        self._told_cut = False            # the log said a round was cut at the deadline
        self._localsearch_time = 0.0      # local-search seconds spent in this process
        self._localsearch_best_ok = True  # False once local search could not hold the best scheme
        self._benching: set[str] = set()  # canonical hashes with a benchmark in flight
        self._real: list[Scheme] = []     # the harvest's schemes (spec.demos), for endgames
        self._own: dict[str, Scheme] = {}  # the campaign's schemes at its best rank, by hash
        self.stats.endgame_k = spec.preset.acting.endgame_k if spec.preset.acting.endgames > 0 else 0
        self._t0 = time.monotonic()
        self._last_checkpoint = self._t0
        self.executor = (executor or local_executor)(self.game, self.target, spec, log)

    @property
    def backend(self) -> str:
        """``"local"`` or ``"ray"``: the executor's name."""
        return self.executor.name

    @property
    def trainer(self):
        """The :class:`~alphaalgo.trainer.Trainer` of a local campaign (tests look inside)."""
        return self.executor.trainer

    def _call(self, method: str, *args: Any) -> Any:
        """Call a :class:`~alphaalgo.trainer.Trainer` method where the executor keeps it."""
        return self.executor.call(method, *args)

    def make_player(self):
        """A :class:`~alphaalgo.player.Player` of this campaign's game (in this process)."""
        from .player import Player

        return Player(self.game, self.target, self.spec.preset, self.spec.seed, self.spec.shape)

    # ------------------------------------------------------- local search
    def _localsearch(self, store, scheme: Scheme, rng: np.random.Generator) -> None:
        """Local search from a scheme, as a job: within this round's budget (its
        seconds are reserved now, the unused part returned when it is done) and the
        executor's local-search slots."""
        secs = self.spec.preset.acting.localsearch_seconds
        slots = self.executor.localsearch_slots
        if secs <= 0 or self._localsearch_budget <= 0 or self._reached():
            return
        if slots is not None and self.executor.pending(LOCALSEARCH) >= slots:
            return
        self._localsearch_budget -= secs
        seed = int(rng.integers(2**31))
        speed = self.spec.preset.acting.speed_weight > 0 and scheme.is_real
        self.executor.submit(Job(LOCALSEARCH, (scheme, secs, seed, self.spec.target_rank, speed),
                                 tag=(scheme, int(rng.integers(2**31)))))

    def _localsearch_done(self, store, done: Done) -> None:
        scheme, seed = done.job.tag
        secs = done.job.args[1]
        self._localsearch_budget += max(0.0, secs - done.seconds)
        if done.node == "local":
            self._localsearch_time += done.seconds
        better, why = done.result if done.result is not None else (None, done.error)
        if better is None:
            self._localsearch_budget = 0.0
            self._not_searched(scheme, why)
            return
        self._searched(store, scheme, better, np.random.default_rng(seed))

    def _not_searched(self, scheme: Scheme, why: str) -> None:
        """Local search could not hold ``scheme``: say so; never walk from it again if it is the best."""
        self.log(f"local search skipped: {why}")
        if scheme is self.best:
            self._localsearch_best_ok = False

    def _localsearch_best(self, store, rng: np.random.Generator) -> None:
        """A round that left its local-search budget unused spends it on a fresh walk
        from the best scheme so far, while local search has had under a quarter of
        the campaign's time (in this process): on shapes where the agent does not
        yet play at the best rank, local search keeps going."""
        acting = self.spec.preset.acting
        if (self.best is None or not self._localsearch_best_ok or acting.localsearch_seconds <= 0
                or self._localsearch_budget < 2.0 * acting.localsearch_seconds
                or self._localsearch_time > 0.25 * (time.monotonic() - self._t0)
                or self.executor.pending(BENCH)):      # a benchmark first: it wants the CPU
            return
        self._localsearch(store, self.best, rng)

    # ---------------------------------------------------------- benchmarks
    def _bench_key(self) -> tuple:
        n = int(self.spec.bench_size)
        return self.executor.bench_backend, (n, n, n), self.spec.bench_dtype, 1

    def _measured(self, store, scheme: Scheme) -> dict | None:
        """The stored measurement of ``scheme`` on the target device at the campaign's
        size and dtype, or None."""
        device = self.executor.bench_device()
        if device is None:
            return None
        backend, size, dtype, levels = self._bench_key()
        return store.find_benchmark(tensors.canonical_hash(scheme), device, backend, size, dtype, levels)

    def _bench(self, store, scheme: Scheme) -> None:
        """The hardware loop: time a new scheme at the best rank (valid over Z or Q)
        on the target device, once per (scheme, device, size, dtype)."""
        if self.spec.preset.acting.speed_weight <= 0 or not scheme.is_real or scheme.shape is None:
            return
        if self.best is not None and scheme.rank > self.best.rank:
            return
        h = tensors.canonical_hash(scheme)
        if h in self._benching or self._measured(store, scheme) is not None:
            return
        self._benching.add(h)
        backend, size, dtype, _ = self._bench_key()
        self.executor.submit(Job(BENCH, (scheme, backend, size, dtype, 3), tag=scheme))

    def _bench_done(self, store, done: Done) -> None:
        from . import bench

        scheme = done.job.tag
        self._benching.discard(tensors.canonical_hash(scheme))
        if done.result is None:
            self.log(f"benchmark failed: {done.error}")
            return
        bench.record(store, scheme, done.result)
        # The score's second use (after the reward): a measured scheme at the best rank
        # is shown again, weighted by λ·b, so faster schemes fill more of the
        # demonstrations the network learns from.
        lam = self.spec.preset.acting.speed_weight
        if (lam > 0 and self.best is not None and scheme.rank <= self.best.rank
                and self._in_set(scheme)):
            self._demonstrate(scheme, np.random.default_rng(
                [self.spec.seed, 4, int(tensors.canonical_hash(scheme)[:8], 16)]),
                              weight=lam * float(done.result.speedup))

    def _take_fastest(self, store) -> None:
        """With λ > 0 the campaign's result is, among its stored schemes at the best rank
        that kernels can run, the fastest measured on the target device
        (``bench.choose_fastest``), not the first found."""
        from . import bench

        if (self.spec.preset.acting.speed_weight <= 0 or self.best is None or not self.best.is_real
                or self.best.shape is None):
            return
        device = self.executor.bench_device()
        at_best = [r.scheme for r in store.list_schemes(self.best.shape, self.spec.ring,
                                                         self.campaign_id)
                   if r.rank == self.best.rank and r.scheme.is_real]
        if len(at_best) < 2 or device is None:
            return
        chosen = at_best[bench.choose_fastest(at_best, store, device)]
        if tensors.canonical_hash(chosen) != tensors.canonical_hash(self.best):
            hit = self._measured(store, chosen)
            self.best = chosen
            self._write_out()
            self.log(f"result: the fastest measured of {len(at_best)} schemes at rank "
                     f"{chosen.rank}" + (f" (speedup {hit['speedup']:.3f})" if hit else ""))

    def _speed(self, store, scheme: Scheme) -> float:
        """The speed score of a scheme: its measurement on the target device when
        stored, else the cost model's estimate."""
        from . import bench

        hit = self._measured(store, scheme)
        if hit is not None and "speedup" in hit:
            return float(hit["speedup"])
        return float(bench.estimate_speedup(scheme))

    # ------------------------------------------------------------ helpers
    def _in_set(self, scheme: Scheme) -> bool:
        return scheme.within(self.game.coefficients)

    def _offer(self, store, scheme: Scheme, provenance: dict, rng: np.random.Generator) -> None:
        """Verify and store a scheme; track the best; write ``--out``; local search from it."""
        check = tensors.verify(scheme)
        if not check.valid:   # cannot happen for an exact game; never stored if it does
            self.log(f"warning: a finished game gave an invalid scheme ({check.describe()})")
            return
        _, new = store.add_scheme(scheme, provenance, self.campaign_id)
        self.stats.schemes_stored += int(new)
        if self.best is None or scheme.rank < self.best.rank:
            self.best = scheme
            self.stats.best_rank = scheme.rank
            self._write_out()
            self._own.clear()
        if scheme.rank == self.best.rank and len(self._own) < 256 and self._in_set(scheme):
            self._own.setdefault(tensors.canonical_hash(scheme), scheme)
        if self._reached() and self.stats.reached_at is None:
            self.stats.reached_at = time.monotonic() - self._t0
        if new:
            self._bench(store, scheme)
        if new and provenance.get("source") in AGENT_SOURCES and scheme.rank <= self.best.rank:
            self._localsearch(store, scheme, rng)

    def _searched(self, store, scheme: Scheme, better: Scheme, rng: np.random.Generator) -> None:
        """Take a local-search result: verified, it becomes a demonstration and is offered."""
        if not tensors.verify(better).valid or better.rank > scheme.rank:
            return
        if self._in_set(better) and better.rank < scheme.rank:
            self._demonstrate(better, rng)
        if better.rank < scheme.rank or tensors.canonical_hash(better) != tensors.canonical_hash(scheme):
            self._offer(store, better, {"source": "localsearch", "from_rank": scheme.rank,
                                        "campaign": self.name}, rng)

    def _demonstrate(self, scheme: Scheme, rng: np.random.Generator, weight: float = 1.0) -> None:
        """Add ``scheme`` to the trainer's demonstrations: about ``weight · 256`` moves,
        i.e. ``max(1, ⌊weight · 256⌋ // rank)`` games replayed in random move
        orders (the demonstrations fill a fixed share of every batch, see
        ``Trainer._batch``)."""
        games = max(1, int(weight * 256) // scheme.rank)
        self._call("demonstrate", *[demos.scheme_examples(self.game, self.target, demos.scheme_actions(scheme), rng)
                                    for _ in range(games)])

    def _reached(self) -> bool:
        t = self.spec.target_rank
        return t is not None and self.best is not None and self.best.rank <= t

    def _write_out(self) -> None:
        if self.spec.out is None or self.best is None:
            return
        from . import formats

        rec = formats.SchemeRecord(
            ",".join(map(str, self.spec.shape)) if self.spec.shape else "target", self.best,
            {"source": "alphaalgo discover", "campaign": self.spec.name, "seed": self.spec.seed})
        formats.write_schemes(self.spec.out, [rec])

    def _absorb(self, store, played) -> None:
        """Take a round of games (a :class:`~alphaalgo.player.Played`): offer the
        solved games' schemes and the best completed game's when it beats the best
        so far; add the examples (with the speed bonus) to replay and store."""
        acting = self.spec.preset.acting
        rng = np.random.default_rng([self.spec.seed, 3, played.round])
        if played.cut and not self._told_cut:
            self._told_cut = True
            what = "this shape" if self.spec.shape is None else ",".join(map(str, self.spec.shape))
            self.log(f"round {played.round} was cut at the time limit after {played.moves} of "
                     f"{self.game.max_moves} moves ({played.seconds:.0f} s): a round on {what} "
                     f"takes longer than the time left; local search alone is `alphaalgo improve`")
        self._localsearch_budget = 2.0 * acting.localsearch_seconds
        bonus = np.zeros(played.games, np.float32)
        for b, scheme in played.solved:
            self.stats.solved += 1
            self.stats.agent_ranks[scheme.rank] = self.stats.agent_ranks.get(scheme.rank, 0) + 1
            t = self.spec.target_rank
            if t is not None and scheme.rank <= t and self.stats.agent_reached_at is None:
                self.stats.agent_reached_at = time.monotonic() - self._t0
            self._offer(store, scheme, {"source": "agent", "campaign": self.name,
                                        "round": played.round, "seed": self.spec.seed}, rng)
            if acting.speed_weight > 0:
                bonus[b] = acting.speed_weight * self._speed(store, scheme)
        if played.completed:
            b, scheme = min(played.completed, key=lambda c: c[1].rank)
            if self.best is None or scheme.rank < self.best.rank:
                self._offer(store, scheme, {"source": "agent+completion", "campaign": self.name,
                                            "round": played.round, "seed": self.spec.seed}, rng)
        self._localsearch_best(store, rng)
        self._grow_endgames(played)
        ex = played.examples.replace(value=played.examples.value + bonus[played.game_of])
        self._call("add", ex)
        store.add_examples(self.campaign_id, "selfplay", ex.arrays())
        self.stats.rounds += 1
        self.stats.games += played.games

    def _endgames(self):
        """The :class:`~alphaalgo.player.Endgames` the next round plays, or None."""
        from .player import Endgames

        share = self.spec.preset.acting.endgames
        schemes = list(self._real) + list(self._own.values())
        if share <= 0 or not schemes or self.spec.shape is None:
            return None
        if len(schemes) > ENDGAME_SCHEMES:   # a job carries a sample, not the whole harvest
            pick = np.random.default_rng([self.spec.seed, 6, self.stats.rounds]).choice(
                len(schemes), ENDGAME_SCHEMES, replace=False)
            schemes = [schemes[i] for i in pick]
        return Endgames(tuple(schemes), self.stats.endgame_k, share)

    def _grow_endgames(self, played) -> None:
        """k up by one when half a round's endgames were won, down by one when none was."""
        n, won = played.endgame_results()
        self.stats.endgames_played += n
        self.stats.endgames_won += won
        if not n:
            return
        if won >= 0.5 * n:
            self.stats.endgame_k += 1
        elif won == 0 and self.stats.endgame_k > 1:
            self.stats.endgame_k -= 1

    def _checkpoint_due(self, store) -> None:
        """A checkpoint when ``checkpoint_seconds`` have passed since the last one."""
        if time.monotonic() - self._last_checkpoint >= self.spec.preset.replay.checkpoint_seconds:
            self._checkpoint(store)
            self._last_checkpoint = time.monotonic()

    def _pretrain(self, step: int, steps: int, store=None) -> None:
        """Updates from ``step`` to ``steps`` on synthetic demonstrations before the
        first game, in chunks (each with its own generator, seeded by the campaign's
        seed and the step), for at most ``PRETRAIN_SHARE`` of the time limit: on
        large shapes a campaign plays, and keeps to its time limit, rather than
        pretraining all along."""
        stop = self._t0 + PRETRAIN_SHARE * self.spec.time_limit
        while step < steps:
            n = min(PRETRAIN_CHUNK, steps - step)
            self._train(n, np.random.default_rng([self.spec.seed, 0, step]))
            step += n
            self._tick()
            if store is not None:
                self._checkpoint_due(store)
            if step < steps and time.monotonic() >= stop:
                self.log(f"pretraining stopped at update {step} of {steps} "
                         f"({PRETRAIN_SHARE:.0%} of the time limit)")
                return

    def _train(self, steps: int, rng: np.random.Generator | None = None) -> None:
        m = self._call("train", steps, self.spec.seed if rng is None else rng)
        self.stats.loss, self.stats.policy_loss, self.stats.value_loss = m["loss"], m["policy"], m["value"]
        self.stats.updates = m["step"]

    def _tick(self) -> None:
        self.stats.elapsed = time.monotonic() - self._t0
        if self.report:
            self.report(self.stats)

    def _checkpoint(self, store) -> None:
        state = self._call("get_state")
        path = checkpoint_path(self.spec.store, self.campaign_id, state.step)
        folder = path.parent
        meta = {"rounds": self.stats.rounds, "games": self.stats.games, "solved": self.stats.solved,
                "campaign": self.spec.name, "endgame_k": self.stats.endgame_k}
        learner.save_checkpoint(path, state, meta)
        store.record_checkpoint(self.campaign_id, state.step, str(path.resolve()))
        for old in sorted(folder.glob("step-*.npz"))[:-3]:
            old.unlink(missing_ok=True)

    # ---------------------------------------------------------------- run
    def _open(self, store) -> None:
        """Find or create the campaign's row (a new name when one exists and not resuming)."""
        spec = self.spec
        cid = store.find_campaign(spec.name)
        name = spec.name
        if cid is not None and not spec.resume:
            k = 2
            while store.find_campaign(f"{spec.name} #{k}") is not None:
                k += 1
            cid, name = None, f"{spec.name} #{k}"
        if cid is None:
            config = {"spec": {"shape": spec.shape, "ring": spec.ring, "seed": spec.seed,
                               "target_rank": spec.target_rank, "time_limit": spec.time_limit,
                               "backend": self.backend, "bench_size": spec.bench_size,
                               "bench_dtype": spec.bench_dtype},
                      "game": dataclasses.asdict(self.game), "preset": spec.preset.to_dict()}
            cid = store.create_campaign(name, json.loads(json.dumps(config, default=list)))
        self.campaign_id, self.name = cid, name

    def _resume(self, store, template: learner.TrainState) -> bool:
        """Load the newest readable checkpoint (falling back past a truncated or
        damaged one), the replay and the best scheme; False if there is none."""
        ck = loaded = None
        for ck in store.checkpoints(self.campaign_id):
            try:
                loaded = learner.load_checkpoint(ck[1], template)
                break
            except ValueError as exc:
                self.log(f"warning: skipping an unreadable checkpoint ({exc})")
        if loaded is None or ck is None:
            return False
        state, meta = loaded
        self._call("set_state", state)
        self.stats.rounds = int(meta.get("rounds", 0))
        self.stats.games = int(meta.get("games", 0))
        self.stats.solved = int(meta.get("solved", 0))
        self.stats.endgame_k = int(meta.get("endgame_k", self.stats.endgame_k))
        self.stats.resumed_from = state.step
        self.log(f"resumed campaign {self.campaign_id} from step {state.step} ({ck[1]})")
        batch: list[Examples] = []
        for arrays in store.iter_examples(self.campaign_id, "selfplay"):
            batch.append(Examples.from_arrays(arrays))
            if len(batch) == 64:
                self._call("add", *batch)
                batch = []
        if batch:
            self._call("add", *batch)
        shown = []
        held = store.list_schemes(self.spec.shape or self.target.shape, self.spec.ring, self.campaign_id)
        for s in held:
            if self.best is None or s.rank < self.best.rank:
                self.best = s.scheme
            if s.provenance.get("source") == "localsearch" and s.rank < s.provenance.get("from_rank", 0):
                shown.append(s)
        rng = np.random.default_rng([self.spec.seed, 5, state.step])
        for s in sorted(shown, key=lambda s: s.created)[-(DEMONSTRATIONS // 256):]:
            if self._in_set(s.scheme):         # as _searched did when local search found it
                self._demonstrate(s.scheme, rng)
        self.stats.best_rank = self.best.rank if self.best else None
        for s in held:
            if self.best is not None and s.rank == self.best.rank and self._in_set(s.scheme):
                self._own.setdefault(tensors.canonical_hash(s.scheme), s.scheme)
        if self._reached():
            self.stats.reached_at = 0.0
        return True

    def run(self) -> CampaignResult:
        from .store import Store

        spec, pre = self.spec, self.spec.preset
        self._t0 = time.monotonic()
        deadline = self._t0 + spec.time_limit
        template = self._call("init", spec.seed)
        # Bad parameters are refused before anything is written.
        given = learner.load_params(spec.params, template.params) if spec.params else None
        if spec.demos:  # before the store: a store without usable schemes writes nothing
            self._real_demos()
        with Store(spec.store) as store:
            self._open(store)
            resumed = spec.resume and self._resume(store, template)
            if spec.resume and not resumed:
                self.log(f"nothing to resume for campaign {self.name!r}: starting it")
            if not resumed and given is not None:
                self._call("set_params", given)
            if spec.warm_start:
                self._warm_start()
            step = self._call("get_state").step if resumed else 0
            if not resumed:  # from the first second on, a kill resumes this campaign
                self._checkpoint(store)
            self._last_checkpoint = time.monotonic()
            # Given parameters are pretrained already (also when resuming such a campaign).
            if step < pre.replay.pretrain_steps and not spec.params:
                self._pretrain(step, pre.replay.pretrain_steps, store)
            try:
                self._act(store, deadline)
            finally:
                self.executor.close()
            where = self.executor.placement()
            if where:
                self.log(where)
            self._take_fastest(store)
            self._checkpoint(store)
            self._tick()
        return CampaignResult(self.best, self._reached(), self.stats, self.campaign_id)

    def _act(self, store, deadline: float) -> None:
        """The campaign loop, the same for every executor: play jobs in every slot;
        as each finishes, its games are absorbed, the learner updates and the next
        round goes out with the new parameters; local-search and benchmark results are
        taken as they come.  Until the deadline or the target rank: a round going at
        the deadline is cut there (the first rounds once they have played
        ``FIRST_ROUND_MOVES`` moves), and one round at least is absorbed; then the
        benchmarks already started are waited for (``bench_grace``)."""
        pre, ex = self.spec.preset, self.executor
        ex.start()
        next_round = self.stats.rounds
        params = self._call("params")
        until = time.time() + (deadline - time.monotonic())    # the deadline, for the players
        for _ in range(ex.play_slots):
            ex.submit(Job(PLAY, (params, next_round, self._endgames(), until, FIRST_ROUND_MOVES)))
            next_round += 1
        t_act, sims, rounds_here = time.monotonic(), 0, 0
        while ex.pending(None) and not self._reached():
            now = time.monotonic()
            if rounds_here and now >= deadline:
                break
            for done in ex.wait(max(0.05, deadline - now) if rounds_here else None):
                if done.job.kind == PLAY:
                    if done.result is None:
                        raise RuntimeError(f"self-play failed on {done.node}: {done.error}")
                    rounds_here += 1
                    sims += done.result.simulations
                    self.stats.sims_per_second = sims / max(time.monotonic() - t_act, 1e-9)
                    self._absorb(store, done.result)
                    self._train(pre.replay.updates_per_round)
                    if not self._reached():
                        ex.submit(Job(PLAY, (self._call("params"), next_round, self._endgames(),
                                             until, 0)))
                        next_round += 1
                    self._tick()
                elif done.job.kind == LOCALSEARCH:
                    self._localsearch_done(store, done)
                else:
                    self._bench_done(store, done)
            self._checkpoint_due(store)
        self._drain_benchmarks(store)

    def _drain_benchmarks(self, store) -> None:
        """Wait, at most ``bench_grace`` seconds, for the benchmarks already started."""
        end = time.monotonic() + self.spec.bench_grace
        while self.executor.pending(BENCH):
            left = end - time.monotonic()
            if left <= 0:
                self.log(f"{self.executor.pending(BENCH)} benchmark(s) still running after "
                         f"{self.spec.bench_grace:g} s; not stored")
                return
            for done in self.executor.wait(left, (BENCH,)):
                self._bench_done(store, done)

    def _real_demos(self) -> None:
        """Hand the trainer the real schemes of ``spec.demos`` (each verified as the
        store reads it) that fit the coefficient set."""
        from .harvest import stored

        if self.spec.shape is None:
            raise ValueError("real demonstrations are for matmul shapes (--shape)")
        fit = stored(self.spec.demos, self.spec.shape, self.spec.ring, self.game.coefficients)
        self._call("set_real", fit)
        self._real = fit
        ranks = sorted({s.rank for s in fit})
        self.log(f"real demonstrations: {len(fit)} scheme(s) of rank {', '.join(map(str, ranks))} "
                 f"from {self.spec.demos}")

    def _warm_start(self) -> None:
        from . import catalog

        if self.spec.shape is None:
            return
        known = catalog.best(self.spec.shape, self.spec.ring)
        if known is None or not tensors.verify(known, self.spec.ring).valid:
            return
        if self.spec.ring == "Z2":
            known = Scheme(known.u, known.v, known.w, ring="Z2", shape=known.shape) if known.is_integral else None
        if known is None or not self._in_set(known):
            self.log("warm start: the catalogue's scheme does not fit the coefficient set; skipped")
            return
        self._demonstrate(known, np.random.default_rng([self.spec.seed, 2]))
        self.log(f"warm start: {known.rank} moves of the catalogue's scheme added as demonstrations")
