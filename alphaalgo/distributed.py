"""``--backend ray``: a campaign's pieces as Ray actors and tasks.

- self-play: ``RaySettings.actors`` :class:`~alphaalgo.player.Player` actors
  (one CPU each, spread over the nodes), each playing rounds with the latest
  parameters the driver put in the object store (one ``ray.put`` per update,
  shared by all actors);
- the learner: one :class:`~alphaalgo.trainer.Trainer` actor (on a GPU with
  ``learner_on="gpu"``) holding parameters, optimiser state and replay;
- local search: tasks refining the agent's new schemes, at most
  ``localsearch_workers`` at once;
- benchmarks: when the preset's speed weight λ > 0, each new scheme is timed by
  a task placed by resources (``bench_on``: ``cpu``, ``gpu``, or
  ``resource:NAME`` for a custom resource naming a TPU host or a CPU model),
  recorded in the store with the node it ran on, and the speed score of later
  games reads that measurement (the cost-model estimate until it exists).

The driver (this process) owns the store: every scheme is verified here before
it is written, examples and checkpoints go to the same SQLite file as on the
local backend, and ``--resume`` works the same.  The driver connects to an
existing cluster (``address``, e.g. ``127.0.0.1:6379`` after ``ray start
--head``) or, without one, starts Ray on this machine.  Ray is imported only here.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .campaign import Campaign, CampaignSpec, Stats, refine_scheme
from .tensors import Scheme

try:
    import ray
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the Ray backend needs Ray: pip install 'alphaalgo[distributed]' "
                      "(or: make setup-distributed)") from exc


class ClusterError(RuntimeError):
    """The cluster cannot run the campaign as asked (unreachable, too few CPUs, no such resource)."""


@dataclasses.dataclass(frozen=True)
class RaySettings:
    """Where the pieces run.

    Attributes:
      address: a running cluster (``host:port``, or ``auto``); None starts Ray here.
      actors: self-play actors (None: the cluster's CPUs less one, kept for
        local search and benchmarks).
      localsearch_workers: local-search tasks in flight at most.
      bench_on: ``cpu``, ``gpu`` or ``resource:NAME``: where benchmarks run.
      bench_size: N of the N×N×N float64 product timed per scheme.
      bench_grace: seconds the campaign waits, past its time limit, for benchmarks it
        started, so that what was measured is stored (a busy node may be slow).
      learner_on: ``cpu`` or ``gpu``.
    """

    address: str | None = None
    actors: int | None = None
    localsearch_workers: int = 1
    bench_on: str = "cpu"
    bench_size: int = 2048
    learner_on: str = "cpu"
    bench_grace: float = 120.0

    def __post_init__(self):
        if self.actors is not None and self.actors < 1:
            raise ValueError(f"need at least one self-play actor, got {self.actors}")
        if self.localsearch_workers < 0:
            raise ValueError(f"local-search workers must be >= 0, got {self.localsearch_workers}")
        if not (self.bench_on in ("cpu", "gpu") or
                (self.bench_on.startswith("resource:") and len(self.bench_on) > len("resource:"))):
            raise ValueError(f"bench placement must be cpu, gpu or resource:NAME, got {self.bench_on!r}")
        if self.learner_on not in ("cpu", "gpu"):
            raise ValueError(f"learner placement must be cpu or gpu, got {self.learner_on!r}")
        if self.bench_size < 16:
            raise ValueError(f"benchmark size must be at least 16, got {self.bench_size}")

    def bench_options(self) -> dict:
        """Ray resource options of a benchmark task."""
        if self.bench_on == "gpu":
            return {"num_cpus": 1, "num_gpus": 1}
        if self.bench_on.startswith("resource:"):
            return {"num_cpus": 1, "resources": {self.bench_on.split(":", 1)[1]: 1}}
        return {"num_cpus": 1}

    @property
    def bench_backend(self) -> str:
        return "jax" if self.bench_on == "gpu" else "numba"


def connect(address: str | None = None) -> None:
    """Join the cluster at ``address`` (``host:port`` or ``auto``), or start Ray on this
    machine; nothing if Ray is already initialised.  Workers get this checkout on their
    ``PYTHONPATH`` (an installed alphaalgo takes precedence where there is one).

    Raises:
      ClusterError: Ray cannot be started or reached.
    """
    if ray.is_initialized():
        return
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": {"PYTHONPATH": path}},
                              "logging_level": "warning", "log_to_driver": True}
    if address and address != "auto":
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
        except (OSError, ValueError) as exc:
            raise ClusterError(f"cannot reach a Ray cluster at {address}: "
                               f"{exc.strerror or exc if isinstance(exc, OSError) else 'expected HOST:PORT'}"
                               ) from None
    # Name this node's address ourselves: left alone, Ray finds it by opening a
    # socket towards a public address, which a machine on a closed network must not.
    kwargs["_node_ip_address"] = _node_ip_towards(address)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(include_dashboard=False, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ClusterError(f"cannot start or reach Ray at {address or 'this machine'}: {first}") from None


def _node_ip_towards(address: str | None) -> str:
    """This machine's address as the cluster at ``address`` sees it: 127.0.0.1 for a
    local or loopback cluster, else the source address of a route to the head node
    (a UDP socket's ``connect`` picks it; no packet is sent)."""
    if not address or address == "auto":
        return "127.0.0.1"
    host = address.rpartition(":")[0] or "127.0.0.1"
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError:
        return "127.0.0.1"
    family, _, _, _, sockaddr = infos[0]
    if sockaddr[0].startswith("127.") or sockaddr[0] == "::1":
        return "127.0.0.1"
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((sockaddr[0], 9))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _this_node() -> dict:
    """This worker's entry of ``ray.nodes()``."""
    node_id = ray.get_runtime_context().get_node_id()
    return next(n for n in ray.nodes() if n["NodeID"] == node_id)


def _node() -> str:
    """This worker's Ray node: ``ip/id8``."""
    n = _this_node()
    return f"{n['NodeManagerAddress']}/{n['NodeID'][:8]}"


def _custom_resources() -> list[str]:
    """The custom resources of this worker's node (not CPU/GPU/memory/node: labels)."""
    return sorted(k for k in _this_node().get("Resources", {})
                  if k not in ("CPU", "GPU", "memory", "object_store_memory")
                  and not k.startswith("node:") and not k.startswith("accelerator_type:"))


class _Placed:
    """Mixed into the actors: where they run."""

    def node(self) -> str:
        return _node()


def _refine_task(scheme: Scheme, seconds: float, seed: int, target_rank: int | None):
    better, why = refine_scheme(scheme, seconds, seed, target_rank)
    return better, why, _node()


def _bench_task(scheme: Scheme, backend: str, size: int, repeats: int):
    from . import bench

    result = bench.benchmark(scheme, backend, (size, size, size), "float64", 1, repeats=repeats)
    device = dict(result.device, ray_node=_node(), ray_node_resources=_custom_resources())
    return dataclasses.replace(result, device=device)


class RayCampaign(Campaign):
    """A :class:`~alphaalgo.campaign.Campaign` whose acting, learning, local
    search and benchmarks run as Ray actors and tasks (see the module doc)."""

    backend = "ray"

    def __init__(self, spec: CampaignSpec, settings: RaySettings,
                 report: Callable[[Stats], None] | None = None, log: Callable[[str], None] = print):
        self.settings = settings
        self._connect(log)
        super().__init__(spec, report, log)
        self._bench_device: str | None = None
        self._bench_pending: set[str] = set()
        self._pending: dict[Any, tuple] = {}
        self.placement: dict[str, list[str]] = {}

    # ------------------------------------------------------------ cluster
    def _connect(self, log: Callable[[str], None]) -> None:
        connect(self.settings.address)
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        res = ray.cluster_resources()
        cpus = int(res.get("CPU", 0))
        actors = self.settings.actors or max(1, cpus - 1)
        # Actors hold a CPU each for the whole run; one more is needed for the
        # local-search and benchmark tasks (the learner takes the driver's share:
        # the driver waits while it trains).
        if actors + 1 > cpus:
            raise ClusterError(f"the Ray cluster has {cpus} CPU(s): {actors} self-play actor(s) plus one "
                             f"CPU for local search and benchmarks need {actors + 1}")
        if self.settings.bench_on == "gpu" and res.get("GPU", 0) < 1:
            raise ClusterError("--bench-on gpu: the Ray cluster has no GPU")
        if self.settings.bench_on.startswith("resource:"):
            name = self.settings.bench_on.split(":", 1)[1]
            if res.get(name, 0) <= 0:
                raise ClusterError(f"--bench-on {self.settings.bench_on}: no node of the Ray cluster "
                                 f"offers the resource {name!r}")
        if self.settings.learner_on == "gpu" and res.get("GPU", 0) < 1:
            raise ClusterError("--learner-on gpu: the Ray cluster has no GPU")
        self.settings = dataclasses.replace(self.settings, actors=actors)
        log(f"ray: {len(nodes)} node(s), {res.get('CPU', 0):g} CPUs, {res.get('GPU', 0):g} GPUs; "
            f"{actors} self-play actor(s)")

    def _make_trainer(self, cls):
        placed = type("Trainer", (cls, _Placed), {})
        opts = {"num_cpus": 0, "num_gpus": 1 if self.settings.learner_on == "gpu" else 0}
        return ray.remote(placed).options(**opts).remote(self.game, self.spec.preset)

    def _call(self, method: str, *args: Any) -> Any:
        return ray.get(getattr(self.trainer, method).remote(*args))

    def _place(self, what: str, node: str) -> None:
        self.placement.setdefault(what, []).append(node)

    # ------------------------------------------------------- local search
    def _refine(self, store, scheme: Scheme, rng: np.random.Generator) -> None:
        secs = self.spec.preset.acting.refine_seconds
        busy = sum(1 for v in self._pending.values() if v[0] == "refine")
        if secs <= 0 or self._reached() or busy >= self.settings.localsearch_workers:
            return
        ref = ray.remote(_refine_task).options(num_cpus=1).remote(
            scheme, secs, int(rng.integers(2**31)), self.spec.target_rank)
        self._pending[ref] = ("refine", scheme, int(rng.integers(2**31)))

    def _refine_best(self, store, rng: np.random.Generator) -> None:
        """As on the local backend, but benchmark tasks go first: no walk from the
        best scheme while one is waiting for a CPU."""
        if not any(job[0] == "bench" for job in self._pending.values()):
            super()._refine_best(store, rng)

    # --------------------------------------------------------- benchmarks
    def _speed(self, store, scheme: Scheme) -> float:
        from . import bench, tensors

        h = tensors.canonical_hash(scheme)
        measured = self._bench_device is not None and bench.stored_measurement(store, h, self._bench_device)
        if not measured and h not in self._bench_pending:
            self._bench_pending.add(h)
            ref = ray.remote(_bench_task).options(**self.settings.bench_options()).remote(
                scheme, self.settings.bench_backend, self.settings.bench_size, 3)
            self._pending[ref] = ("bench", scheme)
        return float(bench.speed_score(scheme, store=store, device=self._bench_device))

    # -------------------------------------------------------------- loop
    def _act(self, store, deadline: float) -> None:
        from .player import Player

        pre = self.spec.preset
        placed = type("Player", (Player, _Placed), {})
        actor_cls = ray.remote(placed).options(num_cpus=1, scheduling_strategy="SPREAD")
        actors = [actor_cls.remote(self.game, self.target, pre, self.spec.seed, self.spec.shape)
                  for _ in range(self.settings.actors)]
        for a in actors:
            self._place("self-play", ray.get(a.node.remote()))
        self._place("learner", self._call("node"))
        self.log("ray placement: " + "; ".join(f"{k} on {', '.join(sorted(set(v)))}"
                                                for k, v in self.placement.items()))
        params = ray.put(self._call("params"))
        next_round = self.stats.rounds
        for a in actors:
            self._pending[a.play.remote(params, next_round)] = ("play", a)
            next_round += 1
        t_act, sims, played_here = time.monotonic(), 0, 0
        try:
            while self._pending and not self._reached():
                now = time.monotonic()
                if played_here and now >= deadline:
                    break
                wait = max(0.05, deadline - now) if played_here else None
                ready, _ = ray.wait(list(self._pending), num_returns=1, timeout=wait)
                if not ready:
                    continue
                ref = ready[0]
                job = self._pending.pop(ref)
                if job[0] == "play":
                    played = ray.get(ref)
                    played_here += 1
                    sims += played.simulations
                    self.stats.sims_per_second = sims / max(time.monotonic() - t_act, 1e-9)
                    self._absorb(store, played)
                    self._train(pre.replay.updates_per_round)
                    params = ray.put(self._call("params"))
                    self._pending[job[1].play.remote(params, next_round)] = ("play", job[1])
                    next_round += 1
                    self._tick()
                elif job[0] == "refine":
                    better, why, node = ray.get(ref)
                    self._place("local search", node)
                    if better is None:
                        self._not_refined(job[1], why)
                    else:
                        self._refined(store, job[1], better, np.random.default_rng(job[2]))
                else:
                    self._benchmarked(store, job[1], ref)
                self._checkpoint_due(store)
            self._drain_benchmarks(store)
        finally:
            for ref, job in self._pending.items():
                if job[0] != "play":
                    ray.cancel(ref, force=True)
            self._pending.clear()
            for a in actors:
                ray.kill(a)
        self.log("ray work done: " + "; ".join(
            f"{k} on {', '.join(f'{n} ×{v.count(n)}' for n in sorted(set(v)))}"
            for k, v in self.placement.items()))

    def _drain_benchmarks(self, store) -> None:
        """Wait, at most ``bench_grace`` seconds, for the benchmarks already started."""
        end = time.monotonic() + self.settings.bench_grace
        while True:
            refs = [r for r, job in self._pending.items() if job[0] == "bench"]
            left = end - time.monotonic()
            if not refs or left <= 0:
                if refs:
                    self.log(f"{len(refs)} benchmark(s) still running after the grace period; "
                             "not stored")
                return
            ready, _ = ray.wait(refs, num_returns=1, timeout=left)
            for ref in ready:
                self._benchmarked(store, self._pending.pop(ref)[1], ref)

    def _benchmarked(self, store, scheme: Scheme, ref) -> None:
        from . import bench

        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            self.log(f"benchmark failed: {exc}")
            return
        bench.record(store, scheme, result)
        self._bench_device = self._bench_device or result.device_key
        self._place("benchmarks", result.device["ray_node"])
