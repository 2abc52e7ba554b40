"""Fewer additions: common subexpressions shared between the block sums.

A level of a scheme evaluates three families of linear forms: the left operands
``Σ u·A_ij`` (one per product), the right operands ``Σ v·B_jk`` and the outputs
``C_ik = Σ_r w·P_r``.  Greedy pair extraction (Paar's heuristic): repeatedly
take the pair of variables ``(x, y)`` whose scaled sum ``x + ρ·y`` appears in
the most forms (up to a common factor), name it as a new intermediate and
substitute it, while some pair appears at least twice.  Each form of ``t``
terms then costs ``t − 1`` additions and each intermediate one.

Winograd's variant of Strassen's scheme, 24 additions written out, comes down
to 15 this way — the count Winograd gave.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Sequence

import numpy as np

from .plan import LevelPlan

Form = dict  # variable (int) -> coefficient (float); variables >= n_inputs are intermediates


@dataclasses.dataclass(frozen=True)
class Program:
    """Straight-line evaluation of some linear forms.

    Attributes:
      n_inputs: variables ``0 … n_inputs−1`` are the inputs.
      temps: intermediates, in order; intermediate ``t`` is variable
        ``n_inputs + t`` and equals ``Σ coef·var`` over its ``(var, coef)`` pairs.
      outputs: each output form as ``((var, coef), ...)``.
    """

    n_inputs: int
    temps: tuple[tuple[tuple[int, float], ...], ...]
    outputs: tuple[tuple[tuple[int, float], ...], ...]

    @property
    def additions(self) -> int:
        """Additions (and subtractions) of the straight-line program."""
        return len(self.temps) + sum(max(len(f) - 1, 0) for f in self.outputs)


def naive_additions(forms: Sequence[Form]) -> int:
    """``Σ (terms − 1)``: additions without sharing."""
    return sum(max(len(f) - 1, 0) for f in forms)


def _pairs(f: Form):
    items = sorted(f.items())
    for a in range(len(items)):
        xa, ca = items[a]
        for b in range(a + 1, len(items)):
            xb, cb = items[b]
            yield (xa, xb, cb / ca)


def _key(f: Form, x: int, y: int) -> tuple[int, int, float]:
    """The pair ``(x, y)`` of form ``f`` as counted: lower variable first, coefficient ratio."""
    return (x, y, f[y] / f[x]) if x < y else (y, x, f[x] / f[y])


def optimize(forms: Sequence[Form], n_inputs: int, max_temps: int | None = None,
             max_pairs: int = 400_000) -> Program:
    """Greedy pair extraction over ``forms`` (each ``{var: coef}`` over the inputs).

    Pair counts are kept incrementally (a lazy max-heap); a substitution updates
    only the pairs of the forms it touches that involve the variables it changes.

    Args:
      forms: linear forms over variables ``0 … n_inputs−1``, non-zero coefficients.
      n_inputs: number of input variables.
      max_temps: stop after this many intermediates (default: no limit).
      max_pairs: when the forms hold more term pairs than this (very large
        schemes), no sharing is searched and the forms are returned as they are.
    Returns:
      A :class:`Program` computing exactly the same forms.
    """
    import heapq

    work = [dict(f) for f in forms]
    temps: list[tuple[tuple[int, float], ...]] = []
    if sum(len(f) * (len(f) - 1) // 2 for f in work) > max_pairs:
        return Program(n_inputs, (), tuple(tuple(sorted(f.items())) for f in work))
    counts: Counter = Counter()
    holders: dict[int, set[int]] = {}
    for idx, f in enumerate(work):
        counts.update(_pairs(f))
        for x in f:
            holders.setdefault(x, set()).add(idx)
    heap = [(-c, key) for key, c in counts.items() if c >= 2]
    heapq.heapify(heap)
    while heap and (max_temps is None or len(temps) < max_temps):
        negc, key = heapq.heappop(heap)
        if counts.get(key, 0) != -negc:
            continue  # stale entry
        if -negc < 2:
            break
        xa, xb, ratio = key
        new = n_inputs + len(temps)
        temps.append(((xa, 1.0), (xb, ratio)))
        touched = set()
        for idx in holders.get(xa, set()) & holders.get(xb, set()):
            f = work[idx]
            if f[xb] / f[xa] != ratio:
                continue
            # only the pairs that involve xa, xb or the new variable change: O(len(f))
            for z in f:
                if z != xa and z != xb:
                    for pair in (_key(f, z, xa), _key(f, z, xb)):
                        counts[pair] -= 1
                        touched.add(pair)
            counts[key] -= 1
            coef = f.pop(xa)
            del f[xb]
            f[new] = coef
            holders[xa].discard(idx)
            holders[xb].discard(idx)
            holders.setdefault(new, set()).add(idx)
            for z in f:
                if z != new:
                    pair = _key(f, z, new)
                    counts[pair] += 1
                    touched.add(pair)
        for pair in touched:
            if counts[pair] >= 2:
                heapq.heappush(heap, (-counts[pair], pair))
    outputs = tuple(tuple(sorted(f.items())) for f in work)
    return Program(n_inputs, tuple(temps), outputs)


@dataclasses.dataclass(frozen=True)
class LevelPrograms:
    """The three programs of a level and their addition counts.

    Attributes:
      a: left operands over A's ``n·m`` blocks (variable ``i*m+j``), one output per product.
      b: right operands over B's ``m·p`` blocks (variable ``j*p+k``).
      c: C's ``n·p`` blocks (output ``i*p+k``) over the R products (variable r).
      naive: additions without sharing (``tensors.addition_count``).
    """

    a: Program
    b: Program
    c: Program
    naive: int

    @property
    def additions(self) -> int:
        """Additions with shared subexpressions."""
        return self.a.additions + self.b.additions + self.c.additions


def level_programs(plan: LevelPlan, max_temps: int | None = None) -> LevelPrograms:
    """Shared-subexpression programs for the operand sums and outputs of ``plan``."""
    n, m, p = plan.shape
    a_forms = [{i * m + j: c for i, j, c in prod.a_terms} for prod in plan.products]
    b_forms = [{j * p + k: c for j, k, c in prod.b_terms} for prod in plan.products]
    c_forms: list[Form] = [dict() for _ in range(n * p)]
    for r, prod in enumerate(plan.products):
        for i, k, c, _ in prod.c_terms:
            c_forms[i * p + k][r] = c
    return LevelPrograms(a=optimize(a_forms, n * m, max_temps),
                         b=optimize(b_forms, m * p, max_temps),
                         c=optimize(c_forms, plan.rank, max_temps),
                         naive=naive_additions(a_forms) + naive_additions(b_forms)
                         + naive_additions(c_forms))


def shared_additions(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> int:
    """Additions of one level with shared subexpressions, from the factor matrices alone.

    The same count as ``level_programs(level_plan(scheme)).additions`` (a kernel's
    count) without the exact check and the plan: for a walk that evaluates many
    schemes it already verified.  Forms are numbered by factor row, which names
    the same variables as the plan's blocks.

    Args:
      u: ``(n·m, R)``, v: ``(m·p, R)``, w: ``(p·n, R)`` numerators (one
        denominator per factor changes no count); zero columns are skipped.
    """
    live = np.flatnonzero(u.any(axis=0) & v.any(axis=0) & w.any(axis=0))
    u, v, w = u[:, live], v[:, live], w[:, live]

    def columns(f: np.ndarray) -> list[Form]:
        return [{int(x): float(f[x, r]) for x in np.flatnonzero(f[:, r])} for r in range(f.shape[1])]

    def rows(f: np.ndarray) -> list[Form]:
        return [{int(r): float(f[x, r]) for r in np.flatnonzero(f[x])} for x in range(f.shape[0])]

    return (optimize(columns(u), u.shape[0]).additions + optimize(columns(v), v.shape[0]).additions
            + optimize(rows(w), len(live)).additions)
