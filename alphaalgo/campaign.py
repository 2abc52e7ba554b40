"""A discovery campaign: acting, learning, verifying and storing, on one machine.

A campaign joins a :class:`~alphaalgo.player.Player` (rounds of self-play
games with the search) and a :class:`~alphaalgo.trainer.Trainer` (parameters,
replay, updates).  Each round's solved games become schemes (basis change
undone) that are verified exactly and stored, then refined by local search;
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

:class:`Campaign` runs everything in this process; ``alphaalgo.distributed``
runs the same pieces as Ray actors and tasks by overriding the hooks
``_call`` (reach the trainer), ``_refine`` and ``_speed`` and the loop ``_act``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import demos, game, learner, tensors
from .game import GameConfig
from .presets import Preset
from .tensors import Scheme
from .trainer import DEMONSTRATIONS, Trainer


PRETRAIN_SHARE = 1 / 3
"""At most this share of a campaign's time limit goes to pretraining."""
PRETRAIN_CHUNK = 50
"""Pretraining updates between two looks at the clock."""

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
    itself (``reached_at`` counts local search's schemes too).
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

    def agent_summary(self) -> str:
        """The ranks the agent's own games ended with, e.g. ``rank 7 ×40, rank 8 ×310``
        (before any refinement; the store keeps one row per distinct scheme)."""
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
    coefs = spec.coefficients or p.coefficients or game.default_coefficients(spec.ring, spec.shape)
    naive = int(np.prod(spec.shape)) if spec.shape else tensors.slice_rank_bound(tgt)
    max_moves = p.max_moves or int(np.ceil(naive * p.move_slack))
    return GameConfig(tuple(tgt.shape), spec.ring, tuple(coefs), int(max_moves), p.history)


def checkpoint_path(store: str, campaign_id: int, step: int) -> Path:
    """Where campaign ``campaign_id`` of the store at ``store`` keeps its checkpoint of ``step``."""
    return Path(str(store) + ".checkpoints") / f"campaign-{campaign_id}" / f"step-{step:09d}.npz"


def refine_scheme(scheme: Scheme, seconds: float, seed: int, target_rank: int | None
                  ) -> tuple[Scheme | None, str]:
    """Local search from ``scheme`` for ``seconds``: ``(result, "")``, or ``(None, why)``
    when the local search cannot hold the scheme.  The result is not yet verified."""
    from . import localsearch

    try:
        return localsearch.improve(scheme, time_limit=seconds, seed=seed, target_rank=target_rank), ""
    except ValueError as exc:
        return None, str(exc)


def with_speed_weight(preset: Preset, weight: float) -> Preset:
    """``preset`` with the benchmark term's weight λ set to ``weight``."""
    return dataclasses.replace(preset, acting=dataclasses.replace(preset.acting, speed_weight=float(weight)))


class Campaign:
    """Acting and learning for one :class:`CampaignSpec` in this process (see the module doc)."""

    backend = "local"

    def __init__(self, spec: CampaignSpec, report: Callable[[Stats], None] | None = None,
                 log: Callable[[str], None] = print):
        self.spec, self.report, self.log = spec, report, log
        self.game = game_config(spec)
        self.target = game.target_tensor(spec.shape, spec.target)
        self.stats = Stats()
        self.best: Scheme | None = None
        self.campaign_id = -1
        self.name = spec.name
        self._refine_budget = 0.0       # local-search seconds left in this round
        self._refine_seconds = 0.0      # local-search seconds spent in this process
        self._refine_best_ok = True     # False once local search could not hold the best scheme
        self._t0 = time.monotonic()
        self.trainer = self._make_trainer(Trainer)

    # ------------------------------------------------------ backend hooks
    def _make_trainer(self, cls):
        return cls(self.game, self.spec.preset)

    def _call(self, method: str, *args: Any) -> Any:
        """Call a :class:`~alphaalgo.trainer.Trainer` method (here: in this process)."""
        return getattr(self.trainer, method)(*args)

    def make_player(self):
        """The :class:`~alphaalgo.player.Player` of this campaign's game."""
        from .player import Player

        return Player(self.game, self.target, self.spec.preset, self.spec.seed, self.spec.shape)

    def _refine(self, store, scheme: Scheme, rng: np.random.Generator) -> None:
        """Local search from a new agent scheme, within this round's budget."""
        secs = self.spec.preset.acting.refine_seconds
        if secs <= 0 or self._refine_budget <= 0 or self._reached():
            return
        t = time.monotonic()
        better, why = refine_scheme(scheme, secs, int(rng.integers(2**31)), self.spec.target_rank)
        self._refine_budget -= time.monotonic() - t
        self._refine_seconds += time.monotonic() - t
        if better is None:
            self._refine_budget = 0.0
            self._not_refined(scheme, why)
            return
        self._refined(store, scheme, better, rng)

    def _not_refined(self, scheme: Scheme, why: str) -> None:
        """Local search could not hold ``scheme``: say so; never walk from it again if it is the best."""
        self.log(f"local search skipped: {why}")
        if scheme is self.best:
            self._refine_best_ok = False

    def _refine_best(self, store, rng: np.random.Generator) -> None:
        """A round that left its local-search budget unused spends it on a fresh walk
        from the best scheme so far, while local search has had under a quarter of
        the campaign's time (in this process): on shapes where the agent does not
        yet play at the best rank, local search keeps going."""
        acting = self.spec.preset.acting
        if (self.best is None or not self._refine_best_ok or acting.refine_seconds <= 0
                or self._refine_budget < 2.0 * acting.refine_seconds
                or self._refine_seconds > 0.25 * (time.monotonic() - self._t0)):
            return
        self._refine(store, self.best, rng)

    def _speed(self, store, scheme: Scheme) -> float:
        """The speed score of a solved game's scheme (measured on this device, or estimated)."""
        from . import bench

        return float(bench.speed_score(scheme, store=store))

    # ------------------------------------------------------------ helpers
    def _in_set(self, scheme: Scheme) -> bool:
        coefs = set(self.game.coefficients)
        return scheme.is_integral and all(
            set(np.unique(m).tolist()) <= coefs for m in (scheme.u, scheme.v, scheme.w))

    def _offer(self, store, scheme: Scheme, provenance: dict, rng: np.random.Generator) -> None:
        """Verify and store a scheme; track the best; write ``--out``; refine it."""
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
        if self._reached() and self.stats.reached_at is None:
            self.stats.reached_at = time.monotonic() - self._t0
        if new and provenance.get("source") in AGENT_SOURCES and scheme.rank <= self.best.rank:
            self._refine(store, scheme, rng)

    def _refined(self, store, scheme: Scheme, better: Scheme, rng: np.random.Generator) -> None:
        """Take a local-search result: verified, it becomes a demonstration and is offered."""
        if not tensors.verify(better).valid or better.rank > scheme.rank:
            return
        if self._in_set(better) and better.rank < scheme.rank:
            self._demonstrate(better, rng)
        if better.rank < scheme.rank or tensors.canonical_hash(better) != tensors.canonical_hash(scheme):
            self._offer(store, better, {"source": "localsearch", "from_rank": scheme.rank,
                                        "campaign": self.name}, rng)

    def _demonstrate(self, scheme: Scheme, rng: np.random.Generator) -> None:
        """Add ``scheme`` to the trainer's demonstrations: about 256 moves, i.e.
        ``max(1, 256 // rank)`` games replayed in random move orders (the
        demonstrations fill a fixed share of every batch, see ``Trainer._batch``)."""
        self._call("demonstrate", *[demos.scheme_examples(self.game, self.target, demos.scheme_actions(scheme), rng)
                                    for _ in range(max(1, 256 // scheme.rank))])

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
        self._refine_budget = 2.0 * acting.refine_seconds
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
        self._refine_best(store, rng)
        ex = dict(played.examples, value=played.examples["value"] + bonus[played.game_of])
        self._call("add", ex)
        store.add_examples(self.campaign_id, "selfplay", ex)
        self.stats.rounds += 1
        self.stats.games += played.games

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
                "campaign": self.spec.name}
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
                               "backend": self.backend},
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
        self.stats.resumed_from = state.step
        self.log(f"resumed campaign {self.campaign_id} from step {state.step} ({ck[1]})")
        batch: list[dict] = []
        for ex in store.iter_examples(self.campaign_id, "selfplay"):
            batch.append(ex)
            if len(batch) == 64:
                self._call("add", *batch)
                batch = []
        if batch:
            self._call("add", *batch)
        shown = []
        for s in store.list_schemes(self.spec.shape or self.target.shape, self.spec.ring, self.campaign_id):
            if self.best is None or s.rank < self.best.rank:
                self.best = s.scheme
            if s.provenance.get("source") == "localsearch" and s.rank < s.provenance.get("from_rank", 0):
                shown.append(s)
        rng = np.random.default_rng([self.spec.seed, 5, state.step])
        for s in sorted(shown, key=lambda s: s.created)[-(DEMONSTRATIONS // 256):]:
            if self._in_set(s.scheme):         # as _refined did when local search found it
                self._demonstrate(s.scheme, rng)
        self.stats.best_rank = self.best.rank if self.best else None
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
            self._act(store, deadline)
            self._checkpoint(store)
            self._tick()
        return CampaignResult(self.best, self._reached(), self.stats, self.campaign_id)

    def _act(self, store, deadline: float) -> None:
        """Rounds of games and updates until the deadline or the target rank (one round at least)."""
        pre = self.spec.preset
        player = self.make_player()
        first = True
        while (first or time.monotonic() < deadline) and not self._reached():
            first = False
            played = player.play(self.trainer.state.params, self.stats.rounds)
            self.stats.sims_per_second = played.simulations / max(played.seconds, 1e-9)
            self._absorb(store, played)
            self._train(pre.replay.updates_per_round)
            self._tick()
            self._checkpoint_due(store)

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
