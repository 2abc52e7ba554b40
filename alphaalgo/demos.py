"""Synthetic demonstrations and the symmetries used to augment them.

A demonstration is R random rank-1 terms (coefficients drawn from the game's
set, zero factors redrawn) summed into a tensor; its moves are the terms, in
any order.  Each one yields a training example: the state after some of its
moves, the next move (a random remaining term swapped into place) and the
number of moves left.

Examples are :class:`alphaalgo.examples.Examples` (the one definition of a
batch, with its shapes).

Basis changes act on each mode of a tensor by an invertible integer matrix
(unimodular over Z, invertible mod 2 over Z2): ``T' = T ×₁ M1 ×₂ M2 ×₃ M3`` and a
term ``(u, v, w)`` becomes ``(M1 u, M2 v, M3 w)``; the inverse matrices undo it.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from . import game
from .examples import Examples
from .game import GameConfig


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """How synthetic demonstrations are drawn (a preset's ``[demos]`` table).

    Attributes:
      min_rank, max_rank: R is uniform in ``[min_rank, max_rank]``; ``max_rank``
        0 means the game's move limit (and ``min_rank`` is capped by it).
      p_zero: probability that a coefficient is 0 (the rest uniform over the
        game's non-zero coefficients).
      flipped: the fraction of demonstrations made by :func:`flipped_actions`
        (cancelling terms of a sparse tensor) instead of independent random terms.
      flip_attempts: flips tried per term in those demonstrations.
      structured: the fraction of the independent-term demonstrations whose
        factors are rank-1 matrices with entries in {−1, 0, 1} (each factor
        ``vec(x yᵀ)``, as in most terms of real schemes), on matmul targets.
    """

    min_rank: int = 1
    max_rank: int = 0
    p_zero: float = 0.6
    flipped: float = 0.0
    flip_attempts: int = 8
    structured: float = 0.0

    def __post_init__(self) -> None:
        if self.min_rank < 1 or self.max_rank < 0 or (self.max_rank and self.min_rank > self.max_rank):
            raise ValueError(f"need 1 <= min_rank <= max_rank (or max_rank 0: the move limit), "
                             f"got {self.min_rank}, {self.max_rank}")
        if not 0.0 <= self.p_zero < 1.0:
            raise ValueError(f"p_zero must lie in [0, 1), got {self.p_zero}")
        for name in ("flipped", "structured"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.flip_attempts < 0:
            raise ValueError(f"flip_attempts must be non-negative, got {self.flip_attempts}")

    def ranks(self, max_moves: int) -> tuple[int, int]:
        """``(low, high)`` demonstration ranks for a game of ``max_moves`` moves."""
        high = min(self.max_rank or max_moves, max_moves)
        return min(self.min_rank, high), high


# ------------------------------------------------------------------ factors
_canonicalize = jax.jit(game.canonicalize, static_argnums=0)


def canonicalize(config: GameConfig, actions: np.ndarray) -> np.ndarray:
    """numpy view of :func:`game.canonicalize` (jitted): ``int8 (..., A)``."""
    return np.array(_canonicalize(config, np.asarray(actions, np.int8)))


def random_actions(rng: np.random.Generator, config: GameConfig, count: tuple[int, ...],
                   p_zero: float) -> np.ndarray:
    """``int8 (*count, A)`` random canonical actions with no zero factor."""
    nonzero = np.array([c for c in config.coefficients if c != 0], np.int8)
    a = config.action_size

    def draw(k: int) -> np.ndarray:
        vals = nonzero[rng.integers(0, len(nonzero), size=(k, a))]
        return np.where(rng.random((k, a)) < p_zero, 0, vals).astype(np.int8)

    flat = draw(int(np.prod(count)))
    bounds = np.cumsum((0,) + config.sizes)
    while True:
        bad = np.zeros(len(flat), bool)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            bad |= ~np.any(flat[:, lo:hi] != 0, axis=1)
        if not bad.any():
            break
        flat[bad] = draw(int(bad.sum()))
    return canonicalize(config, flat).reshape(count + (a,))


def matrix_shape(sizes: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """``(n, m, p)`` of a matmul tensor of sizes ``(n·m, m·p, p·n)``, or None when
    no such integers exist (``n² = S1·S3 / S2``)."""
    s1, s2, s3 = (int(x) for x in sizes)
    n2, rem = divmod(s1 * s3, s2)
    n = int(round(n2 ** 0.5))
    if rem or n < 1 or n * n != n2 or s1 % n or s3 % n:
        return None
    return n, s1 // n, s3 // n


def structured_actions(rng: np.random.Generator, config: GameConfig, count: tuple[int, ...],
                       p_zero: float) -> np.ndarray:
    """``int8 (*count, A)`` canonical actions whose three factors are rank-1
    matrices ``vec(x yᵀ)`` with x, y in {−1, 0, 1} (in {0, 1} over Z2): the
    factor of A is ``x (n) ⊗ y (m)``, of B ``(m) ⊗ (p)``, of Cᵀ ``(p) ⊗ (n)``.
    Needs a matmul target (:func:`matrix_shape`)."""
    shape = matrix_shape(config.sizes)
    if shape is None:
        raise ValueError(f"structured demonstrations need a matmul tensor, not sizes {config.sizes}")
    n, m, p = shape
    k = int(np.prod(count))
    values = np.array([1] if config.ring == "Z2" else [-1, 1], np.int64)

    def vectors(size: int) -> np.ndarray:
        vec = values[rng.integers(0, len(values), size=(k, size))]
        vec = np.where(rng.random((k, size)) < p_zero, 0, vec)
        empty = ~np.any(vec != 0, axis=1)
        vec[empty, rng.integers(0, size, int(empty.sum()))] = values[0]   # never a zero factor
        return vec

    parts = [(vectors(a)[:, :, None] * vectors(b)[:, None, :]).reshape(k, a * b)
             for a, b in ((n, m), (m, p), (p, n))]
    acts = np.concatenate(parts, axis=1).astype(np.int8)
    return canonicalize(config, acts).reshape(count + (config.action_size,))


def term_tensors(config: GameConfig, actions: np.ndarray) -> np.ndarray:
    """``int32 (..., S1, S2, S3)``, the rank-1 tensors of ``actions (..., A)``."""
    s1, s2, _ = config.sizes
    act = np.asarray(actions, np.int32)
    u, v, w = act[..., :s1], act[..., s1:s1 + s2], act[..., s1 + s2:]
    return u[..., :, None, None] * v[..., None, :, None] * w[..., None, None, :]


def random_demo(rng: np.random.Generator, config: GameConfig, rank: int, p_zero: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """One demonstration: ``target int8 (S1, S2, S3)`` and its moves ``actions int8 (rank, A)``.

    Redrawn until no proper suffix of the moves sums to zero, so that replaying
    the moves reaches zero after exactly ``rank`` of them (never earlier).
    """
    while True:
        acts = random_actions(rng, config, (rank,), p_zero)
        terms = term_tensors(config, acts)
        suffix = np.cumsum(terms[::-1], axis=0)[::-1]          # suffix[t] = Σ_{s≥t}
        if config.ring == "Z2":
            suffix = suffix % 2
        if np.all(np.any(suffix.reshape(rank, -1) != 0, axis=1)) and np.abs(suffix).max() <= 127:
            return suffix[0].astype(np.int8), acts


def flipped_actions(rng: np.random.Generator, config: GameConfig, ranks: np.ndarray,
                    width: int, attempts: int) -> tuple[np.ndarray, np.ndarray]:
    """Decompositions with cancelling terms: ``(actions int8 (N, width, A), ranks (N,))``.

    Demonstration ``i`` starts as ``ranks[i]`` distinct unit terms
    ``e_a ⊗ e_b ⊗ e_c`` (a sparse 0/1 tensor) and goes through
    ``attempts · ranks[i]`` random flip attempts (the flip graph's move): two
    terms sharing a factor up to sign, ``a⊗b⊗c + a⊗b'⊗c'``, become
    ``a⊗(b+λb')⊗c + a⊗b'⊗(c'−λc)`` with λ = ±1 (1 over Z2) when every new
    coefficient stays in the game's set.  A term whose new factor is zero
    drops out, so the rank can fall.  The sum never changes: a sparse tensor
    written as dense, cancelling terms, as in Strassen-like schemes, which
    independent random terms (:func:`random_actions`) almost never show.
    Rows past ``ranks[i]`` (the terms left, in random order) are zero.
    """
    s1, s2, s3 = config.sizes
    n, cells = len(ranks), s1 * s2 * s3
    ranks = np.minimum(np.asarray(ranks, np.int64), min(width, cells))
    bounds = np.cumsum((0, s1, s2, s3))
    acts = np.zeros((n, width, bounds[-1]), np.int64)
    first = min(width, cells)
    cell = np.argsort(rng.random((n, cells)), axis=1)[:, :first]          # distinct cells
    alive = np.arange(width)[None, :] < ranks[:, None]
    rows = np.arange(n)[:, None]
    cols = np.arange(first)[None, :]
    for mode, idx in enumerate(np.unravel_index(cell, config.sizes)):
        acts[rows, cols, bounds[mode] + idx] = 1
    acts *= alive[..., None]
    lo, hi = min(config.coefficients), max(config.coefficients)
    allowed = np.zeros(hi - lo + 1, bool)
    allowed[np.asarray(config.coefficients) - lo] = True
    z2 = config.ring == "Z2"
    r_all = np.arange(n)
    mode_of = np.repeat(np.arange(3), (s1, s2, s3))                       # (A,) column -> mode
    for _ in range(attempts * int(ranks.max(initial=1))):
        live = alive.sum(1)
        order = np.argsort(~alive, axis=1, kind="stable")                 # live terms first
        i = (rng.random(n) * np.maximum(live, 1)).astype(np.int64)
        j = (i + 1 + (rng.random(n) * np.maximum(live - 1, 1)).astype(np.int64)) % np.maximum(live, 1)
        s, t = order[r_all, i], order[r_all, j]
        p = rng.integers(0, 3, n)
        q = (p + 1 + rng.integers(0, 2, n)) % 3
        at_p, at_q = mode_of[None, :] == p[:, None], mode_of[None, :] == q[:, None]
        at_r = ~(at_p | at_q)
        a_s, a_t = acts[r_all, s], acts[r_all, t]                          # (N, A)
        same = np.all(~at_p | (a_s == a_t), 1)
        opposite = np.zeros(n, bool) if z2 else np.all(~at_p | (a_s == -a_t), 1)
        sig = np.where(same, 1, -1)[:, None]                               # t's shared factor = sig·a
        lam = (np.ones(n, np.int64) if z2 else rng.choice([-1, 1], n))[:, None]
        new_s = a_s + lam * at_q * sig * a_t
        new_t = at_p * a_s + at_q * sig * a_t + at_r * (a_t - lam * a_s)
        if z2:
            new_s, new_t = new_s % 2, new_t % 2
        fits = np.all((new_s >= lo) & (new_s <= hi) & allowed[np.clip(new_s - lo, 0, hi - lo)], 1)
        fits &= np.all((new_t >= lo) & (new_t <= hi) & allowed[np.clip(new_t - lo, 0, hi - lo)], 1)
        ok = (live >= 2) & (same | opposite) & fits
        acts[r_all[ok], s[ok]] = new_s[ok]
        acts[r_all[ok], t[ok]] = new_t[ok]
        dead = np.zeros(alive.shape, bool)
        for mode in range(3):
            dead |= ~np.any(acts[:, :, mode_of == mode] != 0, axis=2)
        acts[dead] = 0
        alive &= ~dead
    order = np.argsort(~alive + rng.random(alive.shape), axis=1)            # live terms first, shuffled
    acts = np.take_along_axis(acts, order[..., None], axis=1)
    live = alive.sum(1)
    return canonicalize(config, acts.astype(np.int8)), live


def demo_examples(rng: np.random.Generator, config: GameConfig, demo: DemoConfig,
                  count: int) -> Examples:
    """``count`` examples, each from its own random demonstration (see module doc; K = 1)."""
    low, high = demo.ranks(config.max_moves)
    rmax = min(high, 120)
    ranks = rng.integers(min(low, rmax), rmax + 1, size=count)
    acts = random_actions(rng, config, (count, rmax), demo.p_zero)
    structured = rng.random(count) < demo.structured
    if structured.any() and matrix_shape(config.sizes) is not None:
        acts[structured] = structured_actions(rng, config, (int(structured.sum()), rmax),
                                              demo.p_zero)
    flip = rng.random(count) < demo.flipped
    if flip.any():
        acts[flip], ranks[flip] = flipped_actions(rng, config, ranks[flip], rmax, demo.flip_attempts)
    pos = rng.integers(0, ranks)                       # moves already made
    # The next move: a random remaining term swapped into position `pos`.
    swap = pos + (rng.random(count) * (ranks - pos)).astype(np.int64)
    rows = np.arange(count)
    a_pos, a_swap = acts[rows, pos].copy(), acts[rows, swap].copy()
    acts[rows, pos], acts[rows, swap] = a_swap, a_pos
    idx = np.arange(rmax)[None, :]
    remaining = (idx >= pos[:, None]) & (idx < ranks[:, None])
    res = np.einsum("nr,nrijk->nijk", remaining.astype(np.int32), term_tensors(config, acts))
    if config.ring == "Z2":
        res = res % 2
    h, a = config.history, config.action_size
    last = np.zeros((count, h, a), np.int8)
    for back in range(h):
        src = pos - 1 - back
        ok = src >= 0
        last[ok, back] = acts[rows[ok], src[ok]]
    return Examples(residual=np.clip(res, -127, 127).astype(np.int8), last_actions=last,
                    step=pos.astype(np.int32), actions=acts[rows, pos][:, None, :],
                    weights=np.ones((count, 1), np.float32),
                    value=-(ranks - pos).astype(np.float32))


def scheme_actions(scheme) -> np.ndarray:
    """A scheme's terms as game actions ``int8 (R, A)``: row r is ``(u_r, v_r, w_r)``
    (integral schemes with coefficients in int8; see ``Scheme``)."""
    return np.concatenate([scheme.u, scheme.v, scheme.w], axis=0).T.astype(np.int8)


def scheme_examples(config: GameConfig, target: np.ndarray, actions: np.ndarray,
                    rng: np.random.Generator, targets: int = 1) -> Examples:
    """Examples from a known decomposition of ``target`` (e.g. one local search
    refined): its ``R`` terms ``actions (R, A)`` played in a random order give R
    examples.  The terms must lie in the coefficient set.

    Each row's candidates (K = ``targets``) are the term played next and the
    ones after it, up to K of the terms still to play, weighted equally (the
    rest zero padding, weight 0): every remaining term is a right move, and
    K > 1 shows more of them per state for the same torso pass."""
    if targets < 1:
        raise ValueError(f"targets must be at least 1, got {targets}")
    acts = canonicalize(config, np.asarray(actions)[rng.permutation(len(actions))])
    r = len(acts)
    terms = term_tensors(config, acts)
    res = np.asarray(target, np.int32)[None] - np.concatenate(
        [np.zeros((1,) + terms.shape[1:], np.int32), np.cumsum(terms, 0)[:-1]], 0)
    if config.ring == "Z2":
        res = res % 2
    h, a = config.history, config.action_size
    last = np.zeros((r, h, a), np.int8)
    for t in range(r):
        for back in range(min(h, t)):
            last[t, back] = acts[t - 1 - back]
    k = min(targets, r)
    cand = np.zeros((r, k, a), np.int8)
    weights = np.zeros((r, k), np.float32)
    for t in range(r):
        left = acts[t:t + k]
        cand[t, :len(left)] = left
        weights[t, :len(left)] = 1.0 / len(left)
    return Examples(residual=np.clip(res, -127, 127).astype(np.int8), last_actions=last,
                    step=np.arange(r, dtype=np.int32), actions=cand, weights=weights,
                    value=-(r - np.arange(r)).astype(np.float32))


# ----------------------------------------------------- real schemes
def random_symmetry(rng: np.random.Generator, scheme, transvections: int = 1):
    """``scheme`` under a random symmetry of its matmul tensor (the same tensor,
    another scheme of the same rank): ``A → PAQ⁻¹, B → QBR⁻¹, C → RCP⁻¹``
    (:func:`tensors.change_basis`) with P, Q, R each a random signed
    permutation (a permutation over Z2) times ``transvections`` elementary
    matrices, then, for ⟨n,n,n⟩, a random cyclic rotation of the three
    factors, and where n = p a transposition half of the time."""
    from . import tensors

    n, m, p = scheme.shape
    mats = [_random_matrix(rng, size, scheme.ring, transvections, True)[0] for size in (n, m, p)]
    out = tensors.change_basis(scheme, *mats)
    if out.denominators != (1, 1, 1):  # a unimodular change never leaves Z; be exact anyway
        raise AssertionError("a unimodular basis change produced denominators")
    if n == m == p:
        for _ in range(int(rng.integers(3))):
            out = tensors.rotate(out)
    if n == p and rng.random() < 0.5:
        out = tensors.transpose(out)
    return out.replace(u=np.asarray(out.u, np.int64), v=np.asarray(out.v, np.int64),
                       w=np.asarray(out.w, np.int64))


def real_examples(rng: np.random.Generator, config: GameConfig, schemes, count: int,
                  transvections: int = 1, scramble: int = 0, targets: int = 1) -> Examples:
    """``count`` examples from real schemes of the game's matmul tensor (a harvest):
    each scheme drawn goes under :func:`random_symmetry` (signed permutations
    alone when the transvections would leave the coefficient set), its terms
    in a random order, and over Z2 under a mode basis change of ``scramble``
    transvections per mode (the target changes with it, as in acting), then
    gives its R states (:func:`scheme_examples`, ``targets`` candidates per
    row); ``count`` of all those rows are kept at random.  ``schemes``: a
    non-empty sequence of ``Scheme``."""
    from . import tensors

    if not schemes:
        raise ValueError("real_examples needs at least one scheme")
    coefs = np.asarray(config.coefficients)
    target = tensors.matmul_tensor(*schemes[0].shape)
    parts, rows = [], 0
    while rows < count:
        base = schemes[int(rng.integers(len(schemes)))]
        scheme = random_symmetry(rng, base, transvections)
        acts = scheme_actions(scheme).astype(np.int64)
        if config.ring == "Z2":
            acts %= 2
        elif not np.all(np.isin(acts, coefs)):
            acts = scheme_actions(random_symmetry(rng, base, 0)).astype(np.int64)
        goal = target
        if config.ring == "Z2" and scramble:
            change = random_basis_change(rng, config.sizes, "Z2", scramble)
            goal, acts = change.tensor(target), change.factors(config, acts)
        parts.append(scheme_examples(config, goal, acts.astype(np.int8), rng, targets))
        rows += len(parts[-1])
    ex = Examples.concat(parts, max(p.k for p in parts))
    keep = rng.permutation(len(ex))[:count]
    return ex.take(keep)


# ------------------------------------------------------------ basis changes
@dataclasses.dataclass(frozen=True)
class BasisChange:
    """Three invertible integer matrices and their inverses.

    Attributes:
      mats: ``(M1 (S1,S1), M2 (S2,S2), M3 (S3,S3))``, int64.
      invs: their inverses (integer: unimodular over Z, mod 2 over Z2).
      ring: ``"Z"`` or ``"Z2"``.
    """

    mats: tuple[np.ndarray, np.ndarray, np.ndarray]
    invs: tuple[np.ndarray, np.ndarray, np.ndarray]
    ring: str

    def inverse(self) -> "BasisChange":
        return BasisChange(self.invs, self.mats, self.ring)

    def tensor(self, t: np.ndarray) -> np.ndarray:
        """``T ×₁ M1 ×₂ M2 ×₃ M3`` of ``t (..., S1, S2, S3)``, int64 (mod 2 over Z2)."""
        m1, m2, m3 = self.mats
        # one mode at a time: S1·S2·S3·(S1+S2+S3) products, not (S1·S2·S3)² as a
        # single four-operand einsum makes
        out = np.einsum("...ijk,ck->...ijc", np.asarray(t, np.int64), m3)
        out = np.einsum("...ijc,bj->...ibc", out, m2)
        out = np.einsum("...ibc,ai->...abc", out, m1)
        return out % 2 if self.ring == "Z2" else out

    def factors(self, config: GameConfig, actions: np.ndarray) -> np.ndarray:
        """``(M1 u, M2 v, M3 w)`` of ``actions (..., A)``, int64 (mod 2 over Z2)."""
        s1, s2, _ = config.sizes
        act = np.asarray(actions, np.int64)
        parts = (act[..., :s1], act[..., s1:s1 + s2], act[..., s1 + s2:])
        out = np.concatenate([x @ m.T for x, m in zip(parts, self.mats)], axis=-1)
        return out % 2 if self.ring == "Z2" else out


def identity_basis(sizes: tuple[int, int, int], ring: str) -> BasisChange:
    eye = tuple(np.eye(s, dtype=np.int64) for s in sizes)
    return BasisChange(eye, eye, ring)


def _random_matrix(rng: np.random.Generator, size: int, ring: str, transvections: int,
                   signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """A random signed permutation times ``transvections`` elementary matrices
    ``I ± e_ij``, with its exact inverse."""
    perm = rng.permutation(size)
    signs = rng.choice([-1, 1], size=size) if (signed and ring == "Z") else np.ones(size, np.int64)
    m = np.zeros((size, size), np.int64)
    m[np.arange(size), perm] = signs
    inv = m.T.copy()                       # a signed permutation's inverse is its transpose
    for _ in range(transvections if size > 1 else 0):
        i, j = rng.choice(size, 2, replace=False)
        s = 1 if ring == "Z2" else int(rng.choice([-1, 1]))
        e = np.eye(size, dtype=np.int64)
        e[i, j] = s
        e_inv = np.eye(size, dtype=np.int64)
        e_inv[i, j] = -s
        m, inv = e @ m, inv @ e_inv
    if ring == "Z2":
        m, inv = m % 2, inv % 2
    return m, inv


def random_basis_change(rng: np.random.Generator, sizes: tuple[int, int, int], ring: str,
                        transvections: int = 1, signed: bool = True) -> BasisChange:
    """A random basis change: per mode a signed permutation (a plain permutation
    over Z2) times ``transvections`` random elementary matrices."""
    pairs = [_random_matrix(rng, s, ring, transvections, signed) for s in sizes]
    return BasisChange(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), ring)


def augment_examples(rng: np.random.Generator, config: GameConfig, examples: Examples) -> Examples:
    """The examples under one random signed permutation of each mode (keeps every
    coefficient in the set; candidate actions re-canonicalised)."""
    change = random_basis_change(rng, config.sizes, config.ring, transvections=0)
    acts = change.factors(config, examples.actions).astype(np.int8)
    return examples.replace(
        residual=change.tensor(examples.residual).astype(np.int8),
        last_actions=change.factors(config, examples.last_actions).astype(np.int8),
        actions=canonicalize(config, acts))
