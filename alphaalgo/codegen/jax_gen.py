"""Generated JAX kernels for GPUs and TPUs (and JAX's CPU backend).

The generated module defines ``matmul(a, b)``, jitted, of the same structure as
the Numba kernel: each level cuts A into ``n×m`` blocks and B into ``m×p``
blocks, forms the R operand sums, multiplies them — the R products of a level
as one batched product at the next level, ``jnp.matmul`` at
``precision=HIGHEST`` at the leaves, so TF32 flatters neither side — and adds
them into C's blocks.  For rank ≤ ``UNROLL_MAX`` the sums are written out as a
straight-line program with shared subexpressions (:mod:`.cse`); larger schemes
use coefficient tables contracted with ``einsum``.  Sizes that do not divide
are zero-padded up to a multiple of the blocking (and the result sliced).
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import numpy as np

from ..tensors import Scheme
from .cse import Program, level_programs
from .plan import LevelPlan, describe_product, level_plan, per_level

UNROLL_MAX = 24  # XLA compile time grows fast with unrolled slices; tables beyond


def _expr(terms: Sequence[tuple[int, float]], names: Sequence[str]) -> str:
    out = []
    for k, (var, coef) in enumerate(terms):
        sign = "-" if coef < 0 else "+"
        mag = abs(coef)
        term = names[var] if mag == 1.0 else f"{mag!r} * {names[var]}"
        if k == 0:
            out.append(term if sign == "+" else f"-{term}")
        else:
            out.append(f"{sign} {term}")
    return " ".join(out) if out else "0.0"


def _program_lines(prog: Program, inputs: Sequence[str], prefix: str) -> tuple[list[str], list[str]]:
    """Statements for ``prog`` and the expressions of its outputs."""
    names = list(inputs)
    lines = []
    for t, terms in enumerate(prog.temps):
        name = f"{prefix}t{t}"
        lines.append(f"    {name} = {_expr(terms, names)}")
        names.append(name)
    return lines, [_expr(f, names) for f in prog.outputs]


def _level_unrolled(idx: int, plan: LevelPlan) -> list[str]:
    n, m, p = plan.shape
    progs = level_programs(plan)
    a_in = [f"a{i}{j}" for i in range(n) for j in range(m)]
    b_in = [f"b{j}{k}" for j in range(m) for k in range(p)]
    p_in = [f"m{r}" for r in range(plan.rank)]
    lines = [
        "",
        "",
        f"def _level{idx}(a, b, inner):",
        f'    """One level of ⟨{n},{m},{p}⟩ rank {plan.rank} ({plan.name}): a (..., {n}·bm, {m}·bk),',
        f"    b (..., {m}·bk, {p}·bn) → (..., {n}·bm, {p}·bn); additions {plan.additions} written out,",
        f'    {progs.additions} here (shared subexpressions)."""',
        f"    bm, bk, bn = a.shape[-2] // {n}, a.shape[-1] // {m}, b.shape[-1] // {p}",
    ]
    for i in range(n):
        for j in range(m):
            lines.append(f"    a{i}{j} = a[..., {i}*bm:{i + 1}*bm, {j}*bk:{j + 1}*bk]")
    for j in range(m):
        for k in range(p):
            lines.append(f"    b{j}{k} = b[..., {j}*bk:{j + 1}*bk, {k}*bn:{k + 1}*bn]")
    la, sa = _program_lines(progs.a, a_in, "a")
    lb, sb = _program_lines(progs.b, b_in, "b")
    lines += la + lb
    for r, prod in enumerate(plan.products):
        lines.append(f"    # {describe_product(r, prod)}")
    lines.append("    s = jnp.stack([" + ", ".join(sa) + "], axis=-3)")
    lines.append("    t = jnp.stack([" + ", ".join(sb) + "], axis=-3)")
    lines.append("    prods = inner(s, t)")
    lines.append("    " + ", ".join(p_in) + (" ," if plan.rank == 1 else "")
                 + f" = [prods[..., r, :, :] for r in range({plan.rank})]")
    lc, sc = _program_lines(progs.c, p_in, "c")
    lines += lc
    rows = []
    for i in range(n):
        rows.append("jnp.concatenate([" + ", ".join(f"({sc[i * p + k]})" for k in range(p))
                    + "], axis=-1)")
    lines.append("    return jnp.concatenate([" + ", ".join(rows) + "], axis=-2)")
    return lines


def _level_tables(idx: int, plan: LevelPlan) -> list[str]:
    n, m, p = plan.shape
    u = np.zeros((plan.rank, n, m))
    v = np.zeros((plan.rank, m, p))
    w = np.zeros((plan.rank, n, p))
    for r, prod in enumerate(plan.products):
        for i, j, c in prod.a_terms:
            u[r, i, j] = c
        for j, k, c in prod.b_terms:
            v[r, j, k] = c
        for i, k, c, _ in prod.c_terms:
            w[r, i, k] = c
    def arr(x):
        return "np.array(" + repr(x.tolist()) + ")"
    return [
        "",
        "",
        f"# ⟨{n},{m},{p}⟩ rank {plan.rank} ({plan.name}): coefficient tables (R, n, m), (R, m, p), (R, n, p).",
        f"_U{idx} = {arr(u)}",
        f"_V{idx} = {arr(v)}",
        f"_W{idx} = {arr(w)}",
        "",
        "",
        f"def _level{idx}(a, b, inner):",
        f'    """One level of ⟨{n},{m},{p}⟩ rank {plan.rank}: the sums as table contractions."""',
        f"    n, m, p = {n}, {m}, {p}",
        "    *batch, M, K = a.shape",
        "    N = b.shape[-1]",
        "    a4 = a.reshape(*batch, n, M // n, m, K // m)",
        "    b4 = b.reshape(*batch, m, K // m, p, N // p)",
        f"    s = jnp.einsum('...ixjy,rij->...rxy', a4, _U{idx}.astype(a.dtype), precision=HIGHEST)",
        f"    t = jnp.einsum('...jykz,rjk->...ryz', b4, _V{idx}.astype(b.dtype), precision=HIGHEST)",
        "    prods = inner(s, t)",
        f"    c4 = jnp.einsum('...rxz,rik->...ixkz', prods, _W{idx}.astype(prods.dtype), precision=HIGHEST)",
        "    return c4.reshape(*batch, M, N)",
    ]


def jax_source(schemes: Scheme | Sequence[Scheme], levels: int = 1, *, name: str = "",
               provenance: str = "", stamp: bool = True) -> str:
    """The source of a JAX kernel module defining ``matmul(a, b)`` (jitted).

    Args:
      schemes: one scheme for every level, or one per level; each verified over Z.
      levels: recursion depth when a single scheme is given.
    Raises:
      NotAMatmulAlgorithm: a scheme not valid over Z.
    """
    schemes = per_level(schemes, levels)
    plans: list[LevelPlan] = []
    index: dict[int, int] = {}
    for s in schemes:
        if plans and s is schemes[0]:
            plans.append(plans[0])
        else:
            plans.append(level_plan(s, name))
    body: list[str] = []
    for pl in plans:
        if id(pl) not in index:
            index[id(pl)] = len(index)
            body += (_level_unrolled if pl.rank <= UNROLL_MAX else _level_tables)(index[id(pl)], pl)
    blocks = [tuple(pl.shape) for pl in plans]
    mult = tuple(int(np.prod([b[d] for b in blocks])) for d in range(3))
    head = [
        '"""Generated by alphaalgo.codegen: a fast matmul kernel in JAX (GPUs, TPUs, CPUs).',
        "",
        *(f"Level {d}: ⟨{','.join(map(str, pl.shape))}⟩ rank {pl.rank}, {pl.name}, "
          f"scheme hash {pl.hash}." for d, pl in enumerate(plans)),
        "Every scheme was verified exactly over Z before this file was written.",
        ("Generated" + (f" {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"
                        if stamp else "") + (f" by: {provenance}" if provenance else "") + "."),
        "",
        "matmul(a, b) computes a @ b (jitted); the leaf products use precision=HIGHEST.",
        '"""',
        "",
        "import jax",
        "import jax.numpy as jnp",
        "import numpy as np",
        "",
        "HIGHEST = jax.lax.Precision.HIGHEST",
        f"SCHEME_HASHES = {tuple(pl.hash for pl in plans)!r}",
        f"SHAPES = {tuple(pl.shape for pl in plans)!r}",
        f"RANKS = {tuple(pl.rank for pl in plans)!r}",
        f"LEVELS = {len(plans)}",
        f"MULTIPLE = {mult!r}  # (M, K, N) are padded up to multiples of these",
    ]
    chain = ", ".join(f"_level{index[id(pl)]}" for pl in plans)
    tail = [
        "",
        "",
        "def _leaf(a, b):",
        "    return jnp.matmul(a, b, precision=HIGHEST)",
        "",
        "",
        f"_CHAIN = ({chain},)",
        "",
        "",
        "def _at(depth):",
        "    if depth == len(_CHAIN):",
        "        return _leaf",
        "    level, inner = _CHAIN[depth], _at(depth + 1)",
        "    return lambda a, b: level(a, b, inner)",
        "",
        "",
        "_TOP = _at(0)",
        "",
        "",
        "@jax.jit",
        "def matmul(a, b):",
        '    """``a @ b`` for ``a (M, K)``, ``b (K, N)`` of any sizes (zero-padded to the blocking).',
        "",
        "    Real numbers only: complex, string and other arrays raise TypeError.  Unlike",
        "    jnp.matmul, an inf or NaN in an input may reach more entries of the product,",
        "    through the scheme's sums; check inputs with jnp.isfinite where that matters.",
        '    """',
        "    for x in (a, b):",
        "        if np.dtype(x.dtype).kind not in 'biuf':",
        "            raise TypeError(f'matmul computes over the real numbers, got dtype {x.dtype}')",
        "    M, K = a.shape",
        "    N = b.shape[1]",
        "    pm, pk, pn = (-M) % MULTIPLE[0], (-K) % MULTIPLE[1], (-N) % MULTIPLE[2]",
        "    if pm or pk:",
        "        a = jnp.pad(a, ((0, pm), (0, pk)))",
        "    if pk or pn:",
        "        b = jnp.pad(b, ((0, pk), (0, pn)))",
        "    c = _TOP(a, b)",
        "    return c[:M, :N] if (pm or pn) else c",
        "",
    ]
    return "\n".join(head + body + tail)
