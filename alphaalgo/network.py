"""The agent's network (dm-haiku): an AlphaTensor-style torso, an autoregressive
policy head over action tokens and a quantile value head.

Observation (batch B): ``residual int8 (B, S1, S2, S3)``, ``last_actions int8
(B, H, A)`` and ``step int32 (B,)``.  The torso turns the residual and the last
H actions (as rank-1 tensors) into three grids, one per cyclic view of the
tensor (``S1×S2``, ``S2×S3``, ``S3×S1`` cells whose features run along the third
mode), embeds the cells as tokens and lets each pair of grids attend to each
other; the step enters as an extra input on every token.

Actions are written as T tokens (:class:`Tokenizer`): each factor's
coefficients are cut into chunks, each chunk a base-|C| number.  The policy
decodes tokens one at a time, each conditioned on the torso (cross-attention)
and the tokens before it; it scores given actions (teacher forcing) and samples
K actions.  Token masks make every sampled action legal (no zero factor) and
canonical (first non-zero of u and of v positive over Z).
"""

from __future__ import annotations

import dataclasses
import itertools

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from . import game
from .game import GameConfig

NEG = -1e9
ATTENTION = ("full", "axial")


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """Network sizes.

    Attributes:
      width: token width d.
      layers: torso layers (each attends over the three pairs of grids).
      heads: attention heads.
      decoder_layers: cross-attention blocks in the policy head.
      quantiles: value quantiles (AlphaTensor: 8).
      max_vocab: the largest token vocabulary (sets the chunk size).
      multishape: one set of parameters for every matmul shape up to
        ⟨max_dim, max_dim, max_dim⟩ (:func:`layout`): the cells of the grids
        are embedded by the matrix indices they stand for (a_ij, b_jk, c_ki),
        their features and the action tokens are laid out on max_dim×max_dim
        matrices, so no parameter's shape depends on the game's.
      max_dim: the largest n, m or p a multishape network plays.
      attention: how the torso's pairs of grids attend. ``"full"``: every cell of
        the pair to every other (``(S1·S2 + S2·S3)²`` scores for the pair of
        grids over modes 1–2 and 2–3).  ``"axial"``: AlphaTensor's attentive
        modes, a cell only to the cells of both grids that share its index of
        the mode the two grids have in common (``S2·(S1 + S3)²`` scores), so
        the cost grows as S³ rather than S⁴.  The parameters are the same
        either way.
    """

    width: int = 64
    layers: int = 2
    heads: int = 4
    decoder_layers: int = 1
    quantiles: int = 8
    max_vocab: int = 256
    multishape: bool = False
    max_dim: int = 5
    attention: str = "full"

    def __post_init__(self):
        if self.attention not in ATTENTION:
            raise ValueError(f"network attention {self.attention!r}: expected one of "
                             f"{', '.join(ATTENTION)}")


def layout(config: GameConfig, max_dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where a matmul game's coordinates sit on ``max_dim × max_dim`` matrices.

    For ⟨n,m,p⟩ (sizes ``(n·m, m·p, p·n)``), coordinate ``i·m + j`` of the first
    mode is entry a_ij, ``j·p + k`` of the second b_jk and ``k·n + i`` of the
    third c_ki (C transposed, AlphaTensor's convention).  Returns, per mode,
    ``index (S, 2)``: each coordinate's (row, column) in its matrix; the slot
    of a coordinate on the padded matrix is ``row · max_dim + column``.
    Raises ``ValueError`` when the sizes are not a matmul tensor's or a
    dimension exceeds ``max_dim``.
    """
    from .demos import matrix_shape

    shape = matrix_shape(config.sizes)
    if shape is None:
        raise ValueError(f"a multishape network plays matmul tensors; sizes {config.sizes} are not one")
    if max(shape) > max_dim:
        raise ValueError(f"a multishape network plays shapes up to {max_dim}; got ⟨{shape[0]},{shape[1]},{shape[2]}⟩")
    n, m, p = shape
    return tuple(np.array([(r, c) for r in range(rows) for c in range(cols)], np.int64)
                 for rows, cols in ((n, m), (m, p), (p, n)))


class Tokenizer:
    """Actions ``int8 (..., A)`` ↔ tokens ``int32 (..., T)``; token masks.

    Each factor (u, v, w) is cut into chunks of ``chunk`` coefficients (the last
    chunk of a factor may be shorter; its missing digits are the 0 coefficient);
    a chunk is the number ``Σ_i digit_i |C|^i`` where digit is the coefficient's
    index in the set.
    """

    def __init__(self, config: GameConfig, max_vocab: int = 256, max_dim: int | None = None):
        self.config = config
        coefs = np.array(config.coefficients, np.int64)
        base = len(coefs)
        if max_dim is None:     # tokens over the action's own coordinates
            sizes = config.sizes
            self.slots = np.arange(config.action_size)
        else:                   # tokens over max_dim × max_dim matrices (multishape)
            sizes = (max_dim * max_dim,) * 3
            self.slots = np.concatenate([idx[:, 0] * max_dim + idx[:, 1] + f * max_dim * max_dim
                                         for f, idx in enumerate(layout(config, max_dim))])
        chunk = 1
        while chunk < max(sizes) and base ** (chunk + 1) <= max_vocab:
            chunk += 1
        self.chunk, self.base, self.vocab = chunk, base, base ** chunk
        self.zero_digit = int(np.flatnonzero(coefs == 0)[0])
        spans = []                           # (factor, start in the token layout, length)
        offset = 0
        for f, size in enumerate(sizes):
            for start in range(0, size, chunk):
                spans.append((f, offset + start, min(chunk, size - start)))
            offset += size
        self.spans = spans
        self.length = len(spans)
        self.layout_size = offset
        self.identity = offset == config.action_size and np.array_equal(self.slots, np.arange(offset))
        used = np.zeros(offset + chunk, bool)   # coordinates of the game in the layout
        used[self.slots] = True
        digits = np.array(list(itertools.product(range(base), repeat=chunk)), np.int64)[:, ::-1]
        self.digits = digits                 # (V, chunk): digit i of token v
        values = coefs[digits]               # (V, chunk)
        self.values = values
        t, v = self.length, self.vocab
        pad_ok = np.ones((t, v), bool)
        for i, (_, start, length) in enumerate(spans):
            free = used[start:start + chunk] & (np.arange(chunk) < length)
            pad_ok[i] = np.all((digits == self.zero_digit) | free[None, :], axis=1)
        self.pad_ok = pad_ok
        self.is_zero = np.all(values == 0, axis=1)
        nz = values != 0
        first = np.where(nz.any(1), values[np.arange(v), nz.argmax(1)], 0)
        self.first_negative = first < 0
        self.first_of_factor = np.array([i == 0 or spans[i - 1][0] != s[0] for i, s in enumerate(spans)])
        self.last_of_factor = np.array([i == t - 1 or spans[i + 1][0] != s[0] for i, s in enumerate(spans)])
        self.signed = np.array([config.symmetric and s[0] < 2 for s in spans])
        lookup = np.full(17, -1, np.int64)
        lookup[coefs + 8] = np.arange(base)
        self._lookup = lookup

    def encode(self, actions: jax.Array) -> jax.Array:
        """``int8 (..., A)`` → ``int32 (..., T)``."""
        idx = jnp.asarray(self._lookup)[actions.astype(jnp.int32) + 8]
        if not self.identity:
            idx = jnp.full(idx.shape[:-1] + (self.layout_size,), self.zero_digit,
                           idx.dtype).at[..., self.slots].set(idx)
        toks = []
        for _, start, length in self.spans:
            digits = idx[..., start:start + length]
            pw = jnp.asarray(self.base ** np.arange(length), jnp.int32)
            pad = self.zero_digit * int(sum(self.base ** i for i in range(length, self.chunk)))
            toks.append(jnp.sum(digits * pw, axis=-1) + pad)
        return jnp.stack(toks, axis=-1).astype(jnp.int32)

    def decode(self, tokens: jax.Array) -> jax.Array:
        """``int32 (..., T)`` → ``int8 (..., A)``."""
        vals = jnp.asarray(self.values, jnp.int8)[tokens]      # (..., T, chunk)
        parts = [vals[..., i, :length] for i, (_, _, length) in enumerate(self.spans)]
        flat = jnp.concatenate(parts, axis=-1)
        return flat if self.identity else flat[..., self.slots]

    def mask(self, t: int, zero_before: jax.Array) -> jax.Array:
        """``bool (..., V)``: tokens allowed at position ``t`` given ``zero_before
        (...)``, whether the factor's earlier chunks are all zero."""
        allowed = jnp.asarray(self.pad_ok[t])
        zb = zero_before[..., None]
        if self.last_of_factor[t]:
            allowed = allowed & ~(zb & jnp.asarray(self.is_zero))
        if self.signed[t]:
            allowed = allowed & ~(zb & jnp.asarray(self.first_negative))
        return jnp.broadcast_to(allowed, zero_before.shape + (self.vocab,))

    def next_zero_before(self, t: int, zero_before: jax.Array, token: jax.Array) -> jax.Array:
        """``zero_before`` for position ``t + 1`` after emitting ``token`` at ``t``."""
        if t + 1 < self.length and self.first_of_factor[t + 1]:
            return jnp.ones_like(zero_before)
        return zero_before & jnp.asarray(self.is_zero)[token]


def _mlp(x: jax.Array, width: int, name: str) -> jax.Array:
    h = hk.Linear(2 * width, name=f"{name}_in")(x)
    return hk.Linear(width, name=f"{name}_out")(jax.nn.gelu(h))


def _pair(a: jax.Array, b: jax.Array, dims_a: tuple[int, int], dims_b: tuple[int, int],
          attention: str) -> jax.Array:
    """Two grids' tokens ``a (B, Ra·C, d)`` and ``b (B, C·Cb, d)`` (cells row-major;
    a's columns and b's rows share one mode of size C) as the sequences attention runs
    over: ``(B, Ra·C + C·Cb, d)`` for ``"full"``; for ``"axial"`` one sequence per
    index c of the shared mode, a's column c then b's row c: ``(B, C, Ra + Cb, d)``."""
    if attention == "full":
        return jnp.concatenate([a, b], axis=1)
    (ra, c), (_, cb) = dims_a, dims_b
    bsz, d = a.shape[0], a.shape[-1]
    cols = a.reshape(bsz, ra, c, d).transpose(0, 2, 1, 3)            # (B, C, Ra, d)
    return jnp.concatenate([cols, b.reshape(bsz, c, cb, d)], axis=2)


def _unpair(z: jax.Array, dims_a: tuple[int, int], dims_b: tuple[int, int],
            attention: str) -> tuple[jax.Array, jax.Array]:
    """The inverse of :func:`_pair`: the two grids' tokens, row-major."""
    (ra, c), (_, cb) = dims_a, dims_b
    if attention == "full":
        return z[:, :ra * c], z[:, ra * c:]
    bsz, d = z.shape[0], z.shape[-1]
    a = z[:, :, :ra].transpose(0, 2, 1, 3).reshape(bsz, ra * c, d)
    return a, z[:, :, ra:].reshape(bsz, c * cb, d)


def _ln(name: str) -> hk.LayerNorm:
    return hk.LayerNorm(axis=-1, create_scale=True, create_offset=True, name=name)


class AgentNet(hk.Module):
    """Torso, policy head and value head (see the module doc)."""

    def __init__(self, game_config: GameConfig, config: NetConfig, tokenizer: Tokenizer,
                 name: str = "agent"):
        super().__init__(name=name)
        self.g, self.c, self.tok = game_config, config, tokenizer

    # ------------------------------------------------------------------ torso
    def torso(self, residual: jax.Array, last_actions: jax.Array, step: jax.Array
              ) -> tuple[jax.Array, jax.Array]:
        """Returns ``tokens (B, N, d)`` and ``pooled (B, d)``."""
        g, d = self.g, self.c.width
        b = residual.shape[0]
        s1, s2, s3 = g.sizes
        x = residual.astype(jnp.float32)[..., None]
        if g.history:
            hist = game.action_tensor(g, last_actions).astype(jnp.float32)   # (B,H,S1,S2,S3)
            x = jnp.concatenate([x, jnp.moveaxis(hist, 1, -1)], axis=-1)
        c = x.shape[-1]
        grids = [x.reshape(b, s1 * s2, s3 * c),
                 x.transpose(0, 2, 3, 1, 4).reshape(b, s2 * s3, s1 * c),
                 x.transpose(0, 3, 1, 2, 4).reshape(b, s3 * s1, s2 * c)]
        scal = jnp.stack([step.astype(jnp.float32) / g.max_moves,
                          jnp.sum(jnp.abs(residual.astype(jnp.float32)), (1, 2, 3)) / 16.0], -1)
        scal_emb = hk.Linear(d, name="scalars")(scal)[:, None, :]
        toks = []
        if self.c.multishape:
            grids, positions = self._multishape_grids(x)
        else:
            positions = [hk.get_parameter(f"pos{i}", (grid.shape[1], d),
                                          init=hk.initializers.TruncatedNormal(0.02))
                         for i, grid in enumerate(grids)]
        for i, (grid, pos) in enumerate(zip(grids, positions)):
            toks.append(hk.Linear(d, name=f"embed{i}")(grid) + pos + scal_emb)
        dims = [(s1, s2), (s2, s3), (s3, s1)]       # (rows, columns) of each grid's cells
        for layer in range(self.c.layers):
            for i, j in ((0, 1), (1, 2), (2, 0)):
                # grid i's columns and grid j's rows run over the same mode
                z = _pair(toks[i], toks[j], dims[i], dims[j], self.c.attention)
                name = f"l{layer}_{i}{j}"
                h = _ln(f"{name}_ln1")(z)
                z = z + hk.MultiHeadAttention(self.c.heads, d // self.c.heads, w_init=hk.initializers.VarianceScaling(1.0),
                                              name=f"{name}_att")(h, h, h)
                z = z + _mlp(_ln(f"{name}_ln2")(z), d, f"{name}_mlp")
                toks[i], toks[j] = _unpair(z, dims[i], dims[j], self.c.attention)
        allt = _ln("torso_ln")(jnp.concatenate(toks, axis=1))
        return allt, jnp.mean(allt, axis=1)

    def _multishape_grids(self, x: jax.Array) -> tuple[list[jax.Array], list[jax.Array]]:
        """The three grids of ``x (B, S1, S2, S3, C)`` with features laid out on
        ``max_dim × max_dim`` matrices, ``(B, cells, max_dim²·C)``, and the cells'
        position embeddings ``(cells, d)``: the sum of one embedding per matrix
        index of the two entries a cell stands for (e.g. a_ij and b_jk)."""
        g, d, dim = self.g, self.c.width, self.c.max_dim
        idx = layout(g, dim)
        b, c = x.shape[0], x.shape[-1]
        init = hk.initializers.TruncatedNormal(0.02)
        views = [x, x.transpose(0, 2, 3, 1, 4), x.transpose(0, 3, 1, 2, 4)]
        grids, positions = [], []
        for i, view in enumerate(views):
            first, second, third = i, (i + 1) % 3, (i + 2) % 3
            slots = idx[third][:, 0] * dim + idx[third][:, 1]
            s1, s2 = view.shape[1], view.shape[2]
            padded = jnp.zeros((b, s1, s2, dim * dim, c), view.dtype).at[:, :, :, slots, :].set(view)
            grids.append(padded.reshape(b, s1 * s2, dim * dim * c))
            tables = [hk.get_parameter(f"pos{i}_{t}", (dim, d), init=init) for t in range(4)]
            rows = (tables[0][idx[first][:, 0]] + tables[1][idx[first][:, 1]])[:, None, :]
            cols = (tables[2][idx[second][:, 0]] + tables[3][idx[second][:, 1]])[None, :, :]
            positions.append((rows + cols).reshape(s1 * s2, d))
        return grids, positions

    # ------------------------------------------------------------------ value
    def value(self, pooled: jax.Array) -> jax.Array:
        """``quantiles (B, Q)`` of the return."""
        h = jax.nn.gelu(hk.Linear(self.c.width, name="value_hidden")(pooled))
        return hk.Linear(self.c.quantiles, name="value_out")(h)

    # ----------------------------------------------------------------- policy
    def _decode(self, ctx: jax.Array, pooled: jax.Array, q: jax.Array) -> jax.Array:
        """Logits ``(B, M, V)`` for queries ``q (B, M, d)`` (token input already added)."""
        d = self.c.width
        x = q + hk.Linear(d, name="policy_ctx")(pooled)[:, None, :]
        for layer in range(self.c.decoder_layers):
            h = _ln(f"dec{layer}_ln1")(x)
            x = x + hk.MultiHeadAttention(self.c.heads, d // self.c.heads, w_init=hk.initializers.VarianceScaling(1.0),
                                          name=f"dec{layer}_att")(h, ctx, ctx)
            x = x + _mlp(_ln(f"dec{layer}_ln2")(x), d, f"dec{layer}_mlp")
        return hk.Linear(self.tok.vocab, name="policy_out")(_ln("dec_ln")(x))

    def _embeddings(self) -> tuple[jax.Array, jax.Array]:
        t, v, d = self.tok.length, self.tok.vocab, self.c.width
        init = hk.initializers.TruncatedNormal(0.02)
        return (hk.get_parameter("tok_emb", (t, v, d), init=init),
                hk.get_parameter("pos_emb", (t, d), init=init))

    def score(self, ctx: jax.Array, pooled: jax.Array, actions: jax.Array) -> jax.Array:
        """``log π(a)`` of ``actions int8 (B, K, A)`` by teacher forcing: ``(B, K)``."""
        tok = self.tok
        b, k, _ = actions.shape
        tokens = tok.encode(actions)                               # (B,K,T)
        emb, pos = self._embeddings()
        per = jnp.stack([emb[t][tokens[..., t]] for t in range(tok.length)], axis=2)  # (B,K,T,d)
        prefix = jnp.cumsum(per, axis=2) - per                      # sum over s < t
        q = (prefix + pos).reshape(b, k * tok.length, -1)
        logits = self._decode(ctx, pooled, q).reshape(b, k, tok.length, tok.vocab)
        zero_before = jnp.ones((b, k), bool)
        total = jnp.zeros((b, k), jnp.float32)
        for t in range(tok.length):
            lg = jnp.where(tok.mask(t, zero_before), logits[:, :, t], NEG)
            lp = jax.nn.log_softmax(lg, axis=-1)
            total = total + jnp.take_along_axis(lp, tokens[..., t:t + 1], axis=-1)[..., 0]
            zero_before = tok.next_zero_before(t, zero_before, tokens[..., t])
        return total

    def sample(self, ctx: jax.Array, pooled: jax.Array, k: int, rng: jax.Array,
               temperature: float = 1.0) -> tuple[jax.Array, jax.Array, jax.Array]:
        """K actions sampled from β = π tempered token by token: ``int8 (B, K, A)``,
        their ``log π`` ``(B, K)`` and their ``log β`` ``(B, K)`` (equal at temperature 1)."""
        tok = self.tok
        b = ctx.shape[0]
        emb, pos = self._embeddings()
        prefix = jnp.zeros((b, k, self.c.width), jnp.float32)
        zero_before = jnp.ones((b, k), bool)
        total = jnp.zeros((b, k), jnp.float32)
        total_beta = jnp.zeros((b, k), jnp.float32)
        tokens = []
        for t in range(tok.length):
            logits = self._decode(ctx, pooled, prefix + pos[t])      # (B,K,V)
            lg = jnp.where(tok.mask(t, zero_before), logits, NEG)
            lp = jax.nn.log_softmax(lg, axis=-1)
            rng, sub = jax.random.split(rng)
            lb = jax.nn.log_softmax(lp / temperature, axis=-1)
            choice = jax.random.categorical(sub, lb, axis=-1)
            total = total + jnp.take_along_axis(lp, choice[..., None], axis=-1)[..., 0]
            total_beta = total_beta + jnp.take_along_axis(lb, choice[..., None], axis=-1)[..., 0]
            prefix = prefix + emb[t][choice]
            zero_before = tok.next_zero_before(t, zero_before, choice)
            tokens.append(choice)
        return tok.decode(jnp.stack(tokens, axis=-1)), total, total_beta


@dataclasses.dataclass(frozen=True)
class Agent:
    """Pure functions of the network for one game configuration.

    ``init(rng) -> params``; ``evaluate(params, rng, residual, last_actions, step, k)
    -> (actions int8 (B,K,A), log π (B,K), log β (B,K), quantiles (B,Q))`` with β the
    (tempered) distribution the K actions were drawn from; ``score(params,
    residual, last_actions, step, actions (B,K,A)) -> (logp (B,K), quantiles (B,Q))``.
    """

    game_config: GameConfig
    net_config: NetConfig

    @property
    def tokenizer(self) -> Tokenizer:
        return _tokenizer(self.game_config, self.net_config)

    def _transformed(self) -> hk.MultiTransformed:
        return _transform(self.game_config, self.net_config)

    def init(self, rng: jax.Array) -> hk.Params:
        g = self.game_config
        res = jnp.zeros((1,) + g.sizes, jnp.int8)
        last = jnp.zeros((1, g.history, g.action_size), jnp.int8)
        acts = jnp.ones((1, 1, g.action_size), jnp.int8)
        return jax.jit(self._transformed().init)(rng, res, last, jnp.zeros((1,), jnp.int32), acts)

    def evaluate(self, params: hk.Params, rng: jax.Array, residual: jax.Array,
                 last_actions: jax.Array, step: jax.Array, k: int, temperature: float = 1.0
                 ) -> tuple[jax.Array, jax.Array, jax.Array]:
        return self._transformed().apply[0](params, rng, residual, last_actions, step, k, temperature)

    def score(self, params: hk.Params, residual: jax.Array, last_actions: jax.Array,
              step: jax.Array, actions: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self._transformed().apply[1](params, None, residual, last_actions, step, actions)


_CACHE: dict = {}


def _tokenizer(g: GameConfig, c: NetConfig) -> Tokenizer:
    key = ("tok", g, c.max_vocab, c.multishape and c.max_dim)
    if key not in _CACHE:
        _CACHE[key] = Tokenizer(g, c.max_vocab, c.max_dim if c.multishape else None)
    return _CACHE[key]


def _transform(g: GameConfig, c: NetConfig) -> hk.MultiTransformed:
    key = ("net", g, c)
    if key in _CACHE:
        return _CACHE[key]
    tok = _tokenizer(g, c)

    def build():
        net = AgentNet(g, c, tok)

        def evaluate(residual, last_actions, step, k, temperature):
            ctx, pooled = net.torso(residual, last_actions, step)
            acts, logp, logbeta = net.sample(ctx, pooled, k, hk.next_rng_key(), temperature)
            return acts, logp, logbeta, net.value(pooled)

        def score(residual, last_actions, step, actions):
            ctx, pooled = net.torso(residual, last_actions, step)
            return net.score(ctx, pooled, actions), net.value(pooled)

        def init(residual, last_actions, step, actions):
            return score(residual, last_actions, step, actions)

        return init, (evaluate, score)

    _CACHE[key] = hk.multi_transform(build)
    return _CACHE[key]


def risk_value(quantiles: jax.Array, level: float = 0.75) -> jax.Array:
    """The risk-seeking statistic: mean of the quantiles above ``level`` ``(B,)``.

    Quantile i of Q estimates the ``(i + 0.5)/Q`` quantile; they are sorted first.
    """
    q = jnp.sort(quantiles, axis=-1)
    n = q.shape[-1]
    taus = (np.arange(n) + 0.5) / n
    sel = jnp.asarray(taus > level) if (taus > level).any() else jnp.asarray(taus == taus.max())
    return jnp.sum(jnp.where(sel, q, 0.0), -1) / jnp.sum(sel)
