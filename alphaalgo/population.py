"""Population-based training (PBT) of the agent's hyperparameters.

A population of campaigns on the same target, each with its own learning
rate, search temperature (exploration) and weight λ of the benchmark term,
runs in generations of ``interval`` seconds.  After each generation the
weakest members *exploit* the strongest (take a copy of their latest
checkpoint) and *explore* (perturb the hyperparameters they inherit), as in
Jaderberg et al. 2017.  Fitness: minus the best rank a member has found, plus
the share of its games that reached zero (so members that have not yet beaten
each other are still told apart).

Two runners share the hyperparameter space, the fitness and one
exploit/explore rule: each member of the lower quantile (:data:`QUANTILE`
of the population, at most half) copies a member drawn at random from the
upper quantile (:func:`exploit_pairs`, the rule of Ray Tune's
``PopulationBasedTraining``) and then perturbs the hyperparameters it
inherits (:func:`explore`, given to Tune as its ``custom_explore_fn`` with
no mutations of Tune's own).  :func:`run_local` plays the members one after
another on this machine; :func:`run_ray` hands the population to Tune
(members run at once, as trials).
Every member is an ordinary campaign in the store, named after its preset
with a ``-pbtK`` suffix, so ``alphaalgo results`` shows all of them.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .campaign import Campaign, CampaignResult, CampaignSpec, Stats, checkpoint_path
from .presets import Preset

HYPERPARAMETERS = ("learning_rate", "temperature", "speed_weight")
SPEED_WEIGHTS = (0.0, 0.05, 0.1, 0.2)
PERTURB = (0.8, 1.25)
QUANTILE = 0.25


def hyperparameters(preset: Preset) -> dict[str, float]:
    """The preset's values of :data:`HYPERPARAMETERS`."""
    return {"learning_rate": preset.training.learning_rate, "temperature": preset.search.temperature,
            "speed_weight": preset.acting.speed_weight}


def with_hyperparameters(preset: Preset, hp: dict[str, float], name: str | None = None) -> Preset:
    """``preset`` with the hyperparameters ``hp`` (and optionally a new name)."""
    return dataclasses.replace(
        preset, name=name or preset.name,
        training=dataclasses.replace(preset.training, learning_rate=float(hp["learning_rate"])),
        search=dataclasses.replace(preset.search, temperature=float(hp["temperature"])),
        acting=dataclasses.replace(preset.acting, speed_weight=float(hp["speed_weight"])))


def sample(rng: np.random.Generator, preset: Preset) -> dict[str, float]:
    """A starting point around the preset: learning rate ×[1/2, 2] (log-uniform),
    temperature in [0.7, 1.5], λ from :data:`SPEED_WEIGHTS`."""
    base = hyperparameters(preset)
    return {"learning_rate": base["learning_rate"] * float(2.0 ** rng.uniform(-1, 1)),
            "temperature": float(rng.uniform(0.7, 1.5)),
            "speed_weight": float(rng.choice(SPEED_WEIGHTS))}


def perturb(rng: np.random.Generator, hp: dict[str, float]) -> dict[str, float]:
    """Explore: each hyperparameter times 0.8 or 1.25; λ = 0 is resampled with probability 1/4."""
    out = {k: float(v) * float(rng.choice(PERTURB)) for k, v in hp.items()}
    if hp["speed_weight"] == 0 and rng.random() < 0.25:
        out["speed_weight"] = float(rng.choice(SPEED_WEIGHTS[1:]))
    return out


def explore(rng: np.random.Generator, config: dict) -> dict:
    """``config`` with its :data:`HYPERPARAMETERS` perturbed (:func:`perturb`), other keys kept."""
    return {**config, **perturb(rng, {h: float(config[h]) for h in HYPERPARAMETERS})}


def quantile_size(size: int) -> int:
    """Members in each of the lower and upper quantiles: ``⌈size·QUANTILE⌉``, at most half."""
    k = math.ceil(size * QUANTILE)
    return int(size // 2) if k > size / 2 else int(k)


def exploit_pairs(scores: list[float], rng: np.random.Generator) -> list[tuple[int, int]]:
    """``(member, donor)`` pairs: each of the :func:`quantile_size` lowest-scoring members
    copies a donor drawn uniformly from as many highest-scoring ones."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    k = quantile_size(len(scores))
    upper = order[len(order) - k:]
    return [(i, upper[int(rng.integers(k))]) for i in order[:k]] if k else []


def fitness(best_rank: int | None, games: int, solved: int, max_moves: int) -> float:
    """Higher is better: ``−best rank + solved/games`` (``−(max_moves + 1)`` for no scheme)."""
    rank = max_moves + 1 if best_rank is None else best_rank
    return -float(rank) + (solved / games if games else 0.0)


@dataclasses.dataclass
class Member:
    """One member of the population and what it has done so far."""

    index: int
    hp: dict[str, float]
    name: str
    campaign_id: int | None = None
    best_rank: int | None = None
    games: int = 0
    solved: int = 0
    score: float = -math.inf
    history: list[str] = dataclasses.field(default_factory=list)


def member_spec(spec: CampaignSpec, member: Member, seconds: float) -> CampaignSpec:
    """The campaign a member runs for one generation (resuming its own checkpoint)."""
    preset = with_hyperparameters(spec.preset, member.hp, name=member.name)
    return dataclasses.replace(spec, preset=preset, seed=spec.seed * 1000 + member.index,
                               time_limit=seconds, resume=True, out=None)


def _campaign_name(spec: CampaignSpec, member: Member) -> str:
    return member_spec(spec, member, spec.time_limit).name


def _names(spec: CampaignSpec, size: int) -> list[str]:
    """Member preset names: ``<preset>-pbtK``, or ``<preset>-pbtrN-K`` when the store
    already holds a population of that name and this is not a resume."""
    from .store import Store

    with Store(spec.store) as store:
        taken = {c["name"] for c in store.campaigns()}
    run = 1
    while True:
        prefix = f"{spec.preset.name}-pbt" + ("" if run == 1 else f"r{run}-")
        names = [f"{prefix}{k}" for k in range(size)]
        if spec.resume or not any(_campaign_name(spec, Member(k, hyperparameters(spec.preset), n)) in taken
                                  for k, n in enumerate(names)):
            return names
        run += 1


def adopt(store_path: str, campaign_id: int, source: str | Path) -> int:
    """Make the checkpoint file ``source`` the latest of campaign ``campaign_id``; its step."""
    from .atomic import atomic_write_bytes
    from .store import Store

    with np.load(source, allow_pickle=False) as f:
        if "__step__" not in f.files:
            raise ValueError(f"{source}: not an alphaalgo checkpoint")
        step = int(f["__step__"])
    dest = checkpoint_path(store_path, campaign_id, step)
    atomic_write_bytes(dest, Path(source).read_bytes())
    with Store(store_path) as store:
        store.record_checkpoint(campaign_id, step, str(dest.resolve()))
    return step


def _latest(store_path: str, campaign_id: int) -> str | None:
    from .store import Store

    with Store(store_path, readonly=True) as store:
        ck = store.latest_checkpoint(campaign_id)
    return None if ck is None else ck[1]


def _take(member: Member, result: CampaignResult, max_moves: int) -> None:
    member.campaign_id = result.campaign_id
    if result.best is not None and (member.best_rank is None or result.best.rank < member.best_rank):
        member.best_rank = result.best.rank
    member.games, member.solved = result.stats.games, result.stats.solved
    member.score = fitness(member.best_rank, member.games, member.solved, max_moves)


def describe(hp: dict[str, float]) -> str:
    return (f"lr {hp['learning_rate']:.2e}  temperature {hp['temperature']:.2f}  "
            f"λ {hp['speed_weight']:.3f}")


def _result(spec: CampaignSpec, members: list[Member], elapsed: float, write_out: bool = True
            ) -> CampaignResult:
    """The population's outcome: the store's best scheme among the members' campaigns."""
    from . import formats
    from .store import Store

    best, cid = None, -1
    with Store(spec.store, readonly=True) as store:
        for m in members:
            if m.campaign_id is None:
                continue
            for rec in store.list_schemes(spec.shape, spec.ring, m.campaign_id):
                if best is None or rec.rank < best.rank:
                    best, cid = rec.scheme, m.campaign_id
    reached = spec.target_rank is not None and best is not None and best.rank <= spec.target_rank
    if write_out and spec.out and best is not None:
        formats.write_schemes(spec.out, [formats.SchemeRecord(
            ",".join(map(str, spec.shape)), best,
            {"source": "alphaalgo discover --population", "campaign_id": cid, "seed": spec.seed})])
    stats = Stats(elapsed=elapsed, games=sum(m.games for m in members),
                  solved=sum(m.solved for m in members), best_rank=best.rank if best else None,
                  reached_at=elapsed if reached else None)
    return CampaignResult(best, reached, stats, cid)


def run_local(spec: CampaignSpec, size: int, interval: float,
              log: Callable[[str], None] = print) -> tuple[CampaignResult, list[Member]]:
    """PBT with the members played one after another in this process.

    Generations: ``max(1, time_limit // (size · interval))``; each member runs
    ``interval`` seconds per generation (its first round plays
    ``campaign.FIRST_ROUND_MOVES`` moves at least).
    After each generation :func:`exploit_pairs` and :func:`explore` (the rule the
    Ray Tune runner uses too) decide who copies whom.
    """
    from .campaign import game_config

    if size < 2:
        raise ValueError(f"a population needs at least 2 members, got {size}")
    rng = np.random.default_rng([spec.seed, 5])
    names = _names(spec, size)
    members = [Member(k, hyperparameters(spec.preset) if k == 0 else sample(rng, spec.preset), names[k])
               for k in range(size)]
    max_moves = game_config(spec).max_moves
    generations = max(1, int(spec.time_limit // (size * interval)))
    t0 = time.monotonic()
    for g in range(generations):
        for m in members:
            res = Campaign(member_spec(spec, m, interval), log=lambda s, k=m.index: log(f"[member {k}] {s}")).run()
            _take(m, res, max_moves)
            m.history.append(f"gen {g}: {describe(m.hp)} → best {m.best_rank}, score {m.score:.3f}")
            if res.reached:
                return _result(spec, members, time.monotonic() - t0), members
        log(f"generation {g}: " + ", ".join(f"member {m.index} score {m.score:.3f}" for m in members))
        if g == generations - 1:
            break
        for li, wi in exploit_pairs([m.score for m in members], rng):
            loser, winner = members[li], members[wi]
            src = _latest(spec.store, winner.campaign_id)
            if src is None:
                continue
            step = adopt(spec.store, loser.campaign_id, src)
            loser.hp = explore(rng, winner.hp)
            loser.history.append(f"gen {g}: exploited member {winner.index} (step {step}), "
                                 f"explored to {describe(loser.hp)}")
            log(f"member {loser.index} takes member {winner.index}'s checkpoint (step {step}); "
                f"now {describe(loser.hp)}")
    return _result(spec, members, time.monotonic() - t0), members


# ------------------------------------------------------------------ Ray Tune
def _trial(config: dict, spec: CampaignSpec, interval: float, names: list[str]) -> None:
    """A Tune trial: one member, reporting its fitness (and a checkpoint) every generation."""
    from ray import tune
    from ray.tune import Checkpoint

    from .campaign import game_config
    from .store import Store

    # A trial keeps its id when PBT restarts it from another's checkpoint (the
    # config, "member" included, is the donor's): the id's index names the campaign.
    k = int(tune.get_context().get_trial_id().rsplit("_", 1)[1])
    member = Member(k, {h: float(config[h]) for h in HYPERPARAMETERS}, names[k])
    max_moves = game_config(spec).max_moves
    given = tune.get_checkpoint()
    if given is not None:
        with given.as_directory() as d, Store(spec.store) as store:
            cid = store.find_campaign(member_spec(spec, member, interval).name)
            if cid is not None:
                adopt(spec.store, cid, Path(d) / "state.npz")
    while True:
        res = Campaign(member_spec(spec, member, interval), log=lambda s: None).run()
        _take(member, res, max_moves)
        src = _latest(spec.store, res.campaign_id)
        with tempfile.TemporaryDirectory() as d:
            if src is not None:
                shutil.copyfile(src, Path(d) / "state.npz")
            tune.report({"score": member.score, "best_rank": member.best_rank or -1,
                         "games": member.games, "solved": member.solved,
                         "campaign_id": res.campaign_id, "reached": bool(res.reached)},
                        checkpoint=Checkpoint.from_directory(d) if src is not None else None)
        if res.reached:
            return


def run_ray(spec: CampaignSpec, size: int, interval: float, address: str | None = None,
            log: Callable[[str], None] = print) -> tuple[CampaignResult, list[Member]]:
    """PBT with Ray Tune: ``size`` trials at once (one CPU each), Tune's
    ``PopulationBasedTraining`` scheduler exploiting and exploring every
    ``interval`` seconds of a trial's time, for ``time_limit`` seconds each.

    The store must be reachable by every node that runs a trial (one machine,
    or a shared filesystem).
    """
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    from .distributed import connect

    if size < 2:
        raise ValueError(f"a population needs at least 2 members, got {size}")
    # Tune runs each trial in its own working directory: paths must be absolute.
    spec = dataclasses.replace(spec, store=str(Path(spec.store).resolve()),
                               params=str(Path(spec.params).resolve()) if spec.params else None)
    connect(address)
    rng = np.random.default_rng([spec.seed, 5])
    names = _names(spec, size)
    starts = [hyperparameters(spec.preset)] + [sample(rng, spec.preset) for _ in range(size - 1)]
    explore_rng = np.random.default_rng([spec.seed, 6])
    scheduler = PopulationBasedTraining(
        time_attr="time_total_s", perturbation_interval=interval, quantile_fraction=QUANTILE,
        hyperparam_mutations={},
        custom_explore_fn=lambda config: explore(explore_rng, config))
    trainable = tune.with_resources(
        tune.with_parameters(_trial, spec=spec, interval=interval, names=names), {"cpu": 1})
    # Trial k starts from starts[k]: the grid over "member" numbers the trials in order.
    t0 = time.monotonic()
    tuner = tune.Tuner(
        trainable,
        param_space={"member": tune.grid_search(list(range(size))),
                      **{h: tune.sample_from(lambda cfg, h=h: starts[cfg["member"]][h])
                         for h in HYPERPARAMETERS}},
        tune_config=tune.TuneConfig(scheduler=scheduler, metric="score", mode="max",
                                    reuse_actors=False),
        run_config=tune.RunConfig(name=f"pbt-{names[0]}", storage_path=str(Path(str(spec.store) + ".tune").resolve()),
                                  stop={"time_total_s": spec.time_limit}, verbose=0))
    grid = tuner.fit()
    members = []
    for r in grid:
        cfg = r.config
        met = r.metrics or {}
        k = int(str(met.get("trial_id", "x_0")).rsplit("_", 1)[1])
        m = Member(k, {h: float(cfg[h]) for h in HYPERPARAMETERS}, names[k])
        m.campaign_id = met.get("campaign_id")
        m.best_rank = met.get("best_rank") if met.get("best_rank", -1) >= 0 else None
        m.games, m.solved, m.score = met.get("games", 0), met.get("solved", 0), met.get("score", -math.inf)
        members.append(m)
    members.sort(key=lambda m: m.index)
    return _result(spec, members, time.monotonic() - t0), members
