"""``--backend ray``: a campaign's pieces as Ray actors and tasks.

- self-play: ``RaySettings.actors`` :class:`~alphaalgo.player.Player` actors
  (one CPU each, spread over the nodes), each playing rounds with the latest
  parameters the driver put in the object store (one ``ray.put`` per update,
  shared by all actors);
- the learner: one :class:`~alphaalgo.trainer.Trainer` actor (on a GPU with
  ``learner_on="gpu"``) holding parameters, optimiser state and replay;
- local search: tasks refining the agent's new schemes, at most
  ``localsearch_workers`` at once;
- ``alphaalgo improve --backend ray`` (:func:`ray_search`): K walkers as
  local-search tasks of one CPU each, spread over the nodes;
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
from typing import Any, Callable, Sequence


from .executors import BENCH, PLAY, LOCALSEARCH, Done, Executor, Job, bench_scheme, localsearch_job
from .tensors import Scheme

try:
    import ray
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the Ray backend needs Ray: pip install 'alphaalgo[distributed]' "
                      "(or: make setup-distributed)") from exc


#: Ray's setting for its workers' niceness; campaign workers run at normal priority.
WORKER_NICENESS = "RAY_worker_niceness"


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
      learner_on: ``cpu`` or ``gpu``.
    """

    address: str | None = None
    actors: int | None = None
    localsearch_workers: int = 1
    bench_on: str = "cpu"
    learner_on: str = "cpu"

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
    # Ray nices its workers (15) by default; ours play, search and time kernels, and
    # on a busy machine a niced benchmark measures the neighbours, a niced actor starves.
    os.environ.setdefault(WORKER_NICENESS, "0")
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


def _localsearch_task(scheme: Scheme, seconds: float, seed: int, target_rank: int | None,
                      speed: bool = False):
    t = time.monotonic()
    return localsearch_job(scheme, seconds, seed, target_rank, speed), _node(), time.monotonic() - t


def _search_task(starts: list[Scheme], seed: int, kwargs: dict):
    """One walker of :func:`ray_search`, from its starts in turn (the outcome comes
    back as data)."""
    from .localsearch.parallel import run_walker

    t = time.monotonic()
    return run_walker(starts, seed, kwargs), _node(), time.monotonic() - t


def ray_search(starts: Sequence[Scheme], *, workers: int, seed: int = 0,
               address: str | None = None, progress: Callable | None = None,
               log: Callable[[str], None] = print, **kwargs: Any):
    """:func:`alphaalgo.localsearch.parallel_search` on a Ray cluster: ``workers``
    local-search tasks of one CPU each (seeds ``seed ..``, starts shared out as
    :func:`~alphaalgo.localsearch.parallel.share_of` says), placed
    by Ray like the campaign's local-search jobs; the first to reach the target rank
    cancels the rest.  Returns ``(SearchResult, {node: walkers})``."""
    from .localsearch.parallel import merge_results, share_of

    connect(address)
    target = kwargs.get("target_rank")
    task = ray.remote(_search_task).options(num_cpus=1, scheduling_strategy="SPREAD")
    refs = {task.remote(share_of(starts, i, workers), seed + i, kwargs): i for i in range(workers)}
    log(f"ray: {workers} walker(s) on a cluster of {ray.cluster_resources().get('CPU', 0):g} CPUs")
    got: dict[int, tuple[str, Any]] = {}
    nodes: dict[str, int] = {}
    t0 = time.monotonic()
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
        for ref in ready:
            i = refs.pop(ref)
            try:
                (kind, payload), node, _ = ray.get(ref)
            except ray.exceptions.RayError as exc:
                got[i] = ("error", f"{type(exc).__name__}: {exc}")
                continue
            got[i] = (kind, payload)
            nodes[node] = nodes.get(node, 0) + 1
            if kind == "ok" and target is not None and payload.scheme.rank <= target:
                for other in refs:
                    ray.cancel(other, force=True)
                refs.clear()
        done = [p for k, p in got.values() if k == "ok"]
        if progress is not None and done:
            progress(min(r.scheme.rank for r in done), sum(r.flips for r in done),
                     time.monotonic() - t0)
    return merge_results(got, len(got), time.monotonic() - t0), nodes


def _bench_task(scheme: Scheme, backend: str, size, dtype: str, repeats: int):
    t = time.monotonic()
    result = bench_scheme(scheme, backend, size, dtype, repeats)
    device = dict(result.device, ray_node=_node(), ray_node_resources=_custom_resources())
    return dataclasses.replace(result, device=device), _node(), time.monotonic() - t


def check_cluster(settings: RaySettings, log: Callable[[str], None] = print) -> RaySettings:
    """Connect and check that the cluster can run a campaign as ``settings`` ask; the
    settings with the number of actors decided.  ``ClusterError`` otherwise."""
    connect(settings.address)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    res = ray.cluster_resources()
    cpus = int(res.get("CPU", 0))
    actors = settings.actors or max(1, cpus - 1)
    # Actors hold a CPU each for the whole run; one more is needed for the
    # local-search and benchmark tasks (the learner takes the driver's share:
    # the driver waits while it trains).
    if actors + 1 > cpus:
        raise ClusterError(f"the Ray cluster has {cpus} CPU(s): {actors} self-play actor(s) plus one "
                           f"CPU for local search and benchmarks need {actors + 1}")
    if settings.bench_on == "gpu" and res.get("GPU", 0) < 1:
        raise ClusterError("--bench-on gpu: the Ray cluster has no GPU")
    if settings.bench_on.startswith("resource:"):
        name = settings.bench_on.split(":", 1)[1]
        if res.get(name, 0) <= 0:
            raise ClusterError(f"--bench-on {settings.bench_on}: no node of the Ray cluster "
                               f"offers the resource {name!r}")
    if settings.learner_on == "gpu" and res.get("GPU", 0) < 1:
        raise ClusterError("--learner-on gpu: the Ray cluster has no GPU")
    log(f"ray: {len(nodes)} node(s), {res.get('CPU', 0):g} CPUs, {res.get('GPU', 0):g} GPUs; "
        f"{actors} self-play actor(s)")
    return dataclasses.replace(settings, actors=actors)


def ray_executor(settings: RaySettings):
    """An executor factory for :class:`~alphaalgo.campaign.Campaign`: self-play
    actors, a learner actor, and local-search and benchmark tasks placed by resources on
    the Ray cluster of ``settings`` (see the module doc)."""

    def make(game, target, spec, log: Callable[[str], None] = print) -> Executor:
        from .player import Player
        from .trainer import Trainer

        cfg = check_cluster(settings, log)
        learner_cls = ray.remote(type("Trainer", (Trainer, _Placed), {}))
        learner = learner_cls.options(num_cpus=0, num_gpus=1 if cfg.learner_on == "gpu" else 0
                                      ).remote(game, spec.preset)
        actors: list = []
        idle: list = []
        pending: dict = {}                 # ref -> (job, actor or None)
        placement: dict[str, list[str]] = {}
        device: list[str] = []

        def place(what: str, node: str) -> None:
            placement.setdefault(what, []).append(node)

        def call(method: str, *args: Any) -> Any:
            return ray.get(getattr(learner, method).remote(*args))

        def start() -> None:
            if actors:
                return
            actor_cls = ray.remote(type("Player", (Player, _Placed), {})).options(
                num_cpus=1, scheduling_strategy="SPREAD")
            for _ in range(cfg.actors):
                a = actor_cls.remote(game, target, spec.preset, spec.seed, spec.shape)
                actors.append(a)
                idle.append(a)
            for a in actors:
                place("self-play", ray.get(a.node.remote()))
            place("learner", ray.get(learner.node.remote()))
            log("ray placement: " + "; ".join(f"{k} on {', '.join(sorted(set(v)))}"
                                              for k, v in placement.items()))

        def submit(job: Job) -> None:
            if job.kind == PLAY:
                start()
                actor = idle.pop()
                params, *rest = job.args
                pending[actor.play.remote(ray.put(params), *rest)] = (job, actor)
            elif job.kind == LOCALSEARCH:
                pending[ray.remote(_localsearch_task).options(num_cpus=1).remote(*job.args)] = (job, None)
            elif job.kind == BENCH:
                pending[ray.remote(_bench_task).options(**cfg.bench_options()).remote(*job.args)] = (job, None)
            else:
                raise ValueError(f"unknown job kind {job.kind!r}")

        def wait(timeout: float | None, kinds: tuple[str, ...] | None = None) -> list[Done]:
            refs = [r for r, (job, _) in pending.items() if kinds is None or job.kind in kinds]
            if not refs:
                return []
            ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
            out = []
            for ref in ready:
                job, actor = pending.pop(ref)
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    if actor is not None:
                        idle.append(actor)
                    out.append(Done(job, None, f"{type(exc).__name__}: {exc}"))
                    continue
                if job.kind == PLAY:
                    idle.append(actor)
                    out.append(Done(job, value, "", "", value.seconds))
                    continue
                result, node, seconds = value
                place("local search" if job.kind == LOCALSEARCH else "benchmarks", node)
                if job.kind == BENCH and not device:
                    device.append(result.device_key)
                out.append(Done(job, result, "", node, seconds))
            return out

        def count(kind: str | None = None) -> int:
            return sum(1 for job, _ in pending.values() if kind in (None, job.kind))

        def close() -> None:
            for ref, (job, _) in list(pending.items()):
                if job.kind != PLAY:
                    ray.cancel(ref, force=True)
            pending.clear()
            for a in actors:
                ray.kill(a)
            actors.clear()
            idle.clear()

        def summary() -> str:
            return "ray work done: " + "; ".join(
                f"{k} on {', '.join(f'{n} ×{v.count(n)}' for n in sorted(set(v)))}"
                for k, v in placement.items())

        return Executor("ray", call, start, submit, wait, count, close,
                        play_slots=cfg.actors, localsearch_slots=cfg.localsearch_workers,
                        bench_device=lambda: device[0] if device else None, placement=summary,
                        bench_backend=cfg.bench_backend)

    return make
