"""Repair: k terms of a scheme compressed to a small core tensor, decomposed anew.

The k terms ``(u_i, v_i, w_i)`` of a scheme sum to ``S = Σ u_i⊗v_i⊗w_i``, which
lies in ``U⊗V⊗W`` with ``U = span(u_i)`` of dimension ``a ≤ k`` (``V``: b, ``W``:
c).  With bases drawn from the terms' own factors, ``B_U (S1, a)``, ``B_V (S2,
b)``, ``B_W (S3, c)``, and the terms' coordinates in them, ``x_i (a,)``, ``y_i
(b,)``, ``z_i (c,)``, ``S = core ×₁ B_U ×₂ B_V ×₃ B_W`` where ``core = Σ x_i⊗y_i⊗z_i``
``(a, b, c)``.  Any decomposition of the core into r terms maps back to r terms
``(B_U x', B_V y', B_W z')`` of S, so the scheme's rank becomes R − k + r.

A walk that has plateaued makes only flips, which change two terms at a time;
the core is a small tensor (at most k per mode) that a solver can decompose
from scratch — the agent's search on the core's game (:func:`agent_solver`),
or a flip-graph search from the core's naive decomposition
(:func:`localsearch_solver`).  A *solver* is a function
``solve(core int64 (a, b, c), ring, max_terms, rng) -> (x (r, a), y (r, b), z (r, c)) | None``.

Clusters of terms whose factors span little (:func:`clusters`) have small
cores, which are the ones that may have a lower rank.  Over Z the coordinates
must be integers (clusters where they are not are skipped); over Z2 they always
are.  Every repaired scheme is verified exactly before it is returned.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from . import tensors
from .tensors import Scheme

Factors = tuple[np.ndarray, np.ndarray, np.ndarray]
Solver = Callable[[np.ndarray, str, int, np.random.Generator], "Factors | None"]


@dataclasses.dataclass(frozen=True)
class Core:
    """k terms of a scheme as a small tensor.

    Attributes:
      terms: ``int (k,)`` the scheme's columns that were compressed.
      bases: ``B_U (S1, a)``, ``B_V (S2, b)``, ``B_W (S3, c)``, int64: columns drawn
        from the terms' own factors, linearly independent (in the ring).
      coords: ``x (k, a)``, ``y (k, b)``, ``z (k, c)``, int64: each term in the bases.
      tensor: ``int64 (a, b, c)``, ``Σ x_i⊗y_i⊗z_i`` (mod 2 over Z2).
    """

    terms: np.ndarray
    bases: Factors
    coords: Factors
    tensor: np.ndarray

    @property
    def dims(self) -> tuple[int, int, int]:
        return tuple(int(b.shape[1]) for b in self.bases)


def span(vectors: np.ndarray, ring: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A basis of the span of ``vectors int (k, S)`` chosen among them, and each
    vector's coordinates: ``(basis (S, a), coords (k, a))`` with
    ``coords @ basis.T == vectors`` exactly (mod 2 over Z2); None over Z when a
    vector's coordinates are not integers."""
    vec = np.asarray(vectors, np.int64)
    chosen: list[int] = []
    for i in range(len(vec)):
        cand = chosen + [i]
        if _rank(vec[cand], ring) == len(cand):
            chosen = cand
    basis = vec[chosen].T                                        # (S, a)
    if ring == "Z2":
        from .localsearch import gf2

        elim = gf2.eliminate(basis % 2 == 1)
        coords = np.array([elim.solve(v % 2) for v in vec], np.int64)
        if np.any([c is None for c in coords]):                  # cannot happen: vec ⊂ span
            raise AssertionError("a vector outside the span of the basis chosen from it")
        return basis % 2, coords
    sol, *_ = np.linalg.lstsq(basis.astype(float), vec.T.astype(float), rcond=None)
    coords = np.rint(sol.T).astype(np.int64)
    if not np.array_equal(coords @ basis.T, vec):
        return None
    return basis, coords


def _rank(mat: np.ndarray, ring: str) -> int:
    if ring == "Z2":
        from .localsearch import gf2

        return gf2.eliminate(np.asarray(mat) % 2 == 1).rank
    return int(np.linalg.matrix_rank(np.asarray(mat, float)))


def compress(scheme: Scheme, terms: np.ndarray, ring: str | None = None) -> Core | None:
    """The :class:`Core` of the scheme's columns ``terms`` (None over Z when their
    coordinates are not integral)."""
    ring = ring or scheme.ring
    terms = np.asarray(terms, np.int64)
    parts = []
    for mat in (scheme.u, scheme.v, scheme.w):
        got = span(np.asarray(mat, np.int64)[:, terms].T, ring)
        if got is None:
            return None
        parts.append(got)
    (bu, x), (bv, y), (bw, z) = parts
    core = np.einsum("ra,rb,rc->abc", x, y, z)
    if ring == "Z2":
        core %= 2
    return Core(terms, (bu, bv, bw), (x, y, z), core)


def expand(scheme: Scheme, core: Core, factors: Factors) -> Scheme:
    """``scheme`` with the core's terms replaced by ``factors`` ``(x (r, a), y (r, b),
    z (r, c))``, mapped through the bases (zero terms dropped; not verified here)."""
    keep = np.setdiff1d(np.arange(scheme.rank), core.terms)
    new = [np.asarray(f, np.int64) @ b.T for f, b in zip(factors, core.bases)]   # (r, S)
    if scheme.ring == "Z2":
        new = [n % 2 for n in new]
    alive = np.all([np.any(n != 0, axis=1) for n in new], axis=0) if len(new[0]) else \
        np.zeros(0, bool)
    mats = [np.concatenate([np.asarray(m, np.int64)[:, keep], n[alive].T], axis=1)
            for m, n in zip((scheme.u, scheme.v, scheme.w), new)]
    return scheme.replace(u=mats[0], v=mats[1], w=mats[2])


def clusters(scheme: Scheme, k: int, count: int, rng: np.random.Generator,
             ring: str | None = None) -> list[np.ndarray]:
    """``count`` sets of k of the scheme's columns whose factors span little: each
    grows from a random column by adding, one at a time, the column that raises
    ``dim U + dim V + dim W`` least (ties at random)."""
    ring = ring or scheme.ring
    mats = [np.asarray(m, np.int64) for m in (scheme.u, scheme.v, scheme.w)]
    k = min(k, scheme.rank)
    out = []
    for _ in range(count):
        chosen = [int(rng.integers(scheme.rank))]
        while len(chosen) < k:
            rest = np.setdiff1d(np.arange(scheme.rank), chosen)
            cost = np.array([sum(_rank(m[:, chosen + [int(j)]].T, ring) for m in mats)
                             for j in rest], float)
            cost += rng.random(len(rest)) * 0.5
            chosen.append(int(rest[np.argmin(cost)]))
        out.append(np.sort(np.array(chosen)))
    return out


@dataclasses.dataclass(frozen=True)
class Repair:
    """A repair's outcome: the scheme (verified; lower rank when ``improved``),
    attempts made, and the core dims of the one that worked (or None)."""

    scheme: Scheme
    improved: bool
    attempts: int
    core: tuple[int, int, int] | None


def repair(scheme: Scheme, solve: Solver, k: int, attempts: int, rng: np.random.Generator,
           ring: str | None = None) -> Repair:
    """Try ``attempts`` clusters of k terms: compress each, ask ``solve`` for at most
    ``rank(core) − 1`` terms, and return the first repaired scheme that verifies
    exactly in ``ring`` at a lower rank (else the scheme unchanged)."""
    ring = ring or scheme.ring
    for i, terms in enumerate(clusters(scheme, k, attempts, rng, ring)):
        core = compress(scheme, terms, ring)
        if core is None:
            continue
        found = solve(core.tensor, ring, len(terms) - 1, rng)
        if found is None or len(found[0]) >= len(terms):
            continue
        new = expand(scheme, core, found)
        if new.rank < scheme.rank and tensors.verify(new, ring).valid:
            return Repair(new, True, i + 1, core.dims)
    return Repair(scheme, False, attempts, None)


# ------------------------------------------------------------------ solvers
def localsearch_solver(max_flips: int = 200_000) -> Solver:
    """Flip-graph search on the core from its naive decomposition (one term per
    non-zero fiber), ``max_flips`` flips, down to ``max_terms``."""
    from . import localsearch

    def solve(core: np.ndarray, ring: str, max_terms: int, rng: np.random.Generator):
        u, v, w = tensors.fiber_terms(core)
        start = Scheme(u, v, w, ring=ring, target=np.asarray(core, np.int64))
        if start.rank <= max_terms:
            found = start
        else:
            found = localsearch.search(start, ring=ring, target_rank=max_terms,
                                       max_flips=max_flips, seed=int(rng.integers(2**31)),
                                       method="flips" if ring == "Z" else "auto").scheme
        if found.rank > max_terms:
            return None
        return (np.asarray(found.u, np.int64).T, np.asarray(found.v, np.int64).T,
                np.asarray(found.w, np.int64).T)

    return solve


def core_game(k: int, ring: str, history: int = 1):
    """The game a core agent plays: a ``(k, k, k)`` tensor (a smaller core padded
    with zeros) in at most k − 1 moves, coefficients {−1, 0, 1} (Z2: {0, 1})."""
    from .game import GameConfig, default_coefficients

    return GameConfig((k, k, k), ring, default_coefficients(ring, (1, 1, 1)), max_moves=k - 1,
                      history=history)


def agent_solver(agent, params, search_config, games: int = 16,
                 transvections: int = 2) -> Solver:
    """The agent's search on the core's game (:func:`core_game`): ``games`` copies of
    the padded core, each under a random change of basis (signed permutations over
    Z, with ``transvections`` elementary matrices per mode over Z2), played at once;
    the first game solved in at most ``max_terms`` moves is mapped back and
    projected onto the core's own dims."""
    import jax

    from . import demos, game as game_mod, search

    g = agent.game_config
    k = g.sizes[0]
    play = search.make_play(agent, search_config)
    counter = [0]

    def solve(core: np.ndarray, ring: str, max_terms: int, rng: np.random.Generator):
        if ring != g.ring or any(d > k for d in core.shape):
            return None
        padded = np.zeros((k, k, k), np.int64)
        padded[:core.shape[0], :core.shape[1], :core.shape[2]] = core
        changes = [demos.random_basis_change(rng, g.sizes, ring,
                                             transvections if ring == "Z2" else 0)
                   for _ in range(games)]
        targets = np.stack([ch.tensor(padded) for ch in changes])
        if np.abs(targets).max() > 127:
            return None
        states = jax.vmap(lambda t: game_mod.init(g, t))(np.asarray(targets, np.int8))
        counter[0] += 1
        traj = play(params, jax.random.PRNGKey(int(rng.integers(2**31))), states)
        final = np.asarray(traj.final.residual).reshape(games, -1)
        active, moves = np.asarray(traj.moves.active), np.asarray(traj.moves.action)
        for b in np.flatnonzero(~np.any(final != 0, axis=1)):
            played = moves[active[:, b], b].astype(np.int64)
            if len(played) > max_terms:
                continue
            back = changes[b].inverse().factors(g, played)          # (r, 3k)
            x, y, z = back[:, :k], back[:, k:2 * k], back[:, 2 * k:]
            return x[:, :core.shape[0]], y[:, :core.shape[1]], z[:, :core.shape[2]]
        return None

    return solve


def train_core_agent(k: int, ring: str, preset, steps: int, seed: int = 0,
                     progress: Callable[[int], None] | None = None):
    """A network for :func:`core_game` trained on ``steps`` updates of synthetic
    demonstrations (random sums of 1 … k − 1 terms of the game's size): returns
    ``(agent, params)``."""
    from .trainer import Trainer

    import dataclasses as dc

    g = core_game(k, ring, preset.game.history)
    trainer = Trainer(g, dc.replace(preset, demos=dc.replace(preset.demos, max_rank=k - 1)))
    trainer.init(seed)
    trainer.train(steps, np.random.default_rng([seed, 9]), progress=progress)
    return trainer.agent, trainer.params()
