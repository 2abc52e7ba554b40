"""Symmetric schemes and their walker (symmetric flip graphs).

A scheme of ⟨n,n,n⟩ is *cyclic-invariant* when the shift of positions
``(u, v, w) → (v, w, u)`` maps its set of terms to itself (our tensor indexes
``a_ij ⊗ b_jk ⊗ c_ki``, so the shift needs no transposes).  Its terms are then
fixed terms ``x⊗x⊗x`` and orbits of three.  Following Moosbauer & Poole (2025)
the fixed terms are cubes of sums of diagonal entries, one per block of a
partition of ``0..n-1`` (for ⟨5,5,5⟩ they used the blocks {1,5}, {2,4}, {3});
they are kept as they are and only the orbits are walked
(:mod:`.flips_sym`).  Walks are over Z2; the search lifts to Z by Hensel
lifting like the plain Z2 walk.

With ``symmetry=6`` the schemes are also invariant under ρ, the conjugation
of every factor by the index reversal ``i → n-1-i`` (Moosbauer & Poole's
"6-way" symmetry, with which they reached ⟨6,6,6⟩ 153): the blocks must be
mapped to blocks by the reversal, and the orbits come in ρ-pairs, so the
rank moves in steps of six.

``symmetry=2`` keeps ρ alone, which maps the tensor of *every* shape
⟨n,m,p⟩ to itself (entry ``(i, j)`` of an r×c factor to ``(r-1-i, c-1-j)``,
so ``a_ij b_jk c_ki`` goes to ``a_i'j' b_j'k' c_k'i'``): the terms come in
pairs ``t, ρt`` walked together, plus fixed terms ``t = ρt`` kept as they
are.  A fixed term is given by the entries of its three factors, each set
closed under the reversal (Strassen's ``(a00+a11)(b00+b11)`` for ⟨2,2,2⟩);
the start adds its expansion to the schoolbook terms (mod 2).  With fixed
terms the rank can be odd where the schoolbook terms alone pair up.

The two-fold walk may keep another involution instead (:class:`Involution`,
``improve --involution``): τ, the transposition ``(u, v, w) → (vᵀ, uᵀ, wᵀ)``
that ``(AB)ᵀ = BᵀAᵀ`` gives (it maps ⟨n,m,p⟩ to ⟨p,m,n⟩, so a symmetry of
⟨n,m,n⟩), or ρτ, both at once.  A τ-fixed term is ``u ⊗ uᵀ ⊗ w`` with w
symmetric; the schoolbook terms τ fixes, ``a_ij b_ji c_ii``, are grouped by
their C factor into n such terms (``(a_i0+…)(b_0i+…) c_ii``), the fewest a
τ-invariant scheme can have (their classes mod the pairs have rank n).  ρτ
fixes no schoolbook term when m is even.  :func:`.walk.search` walks τ-invariant
schemes with :mod:`.tau` instead of :class:`SymmetricWalker`: there the fixed terms
move too.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Sequence

import numpy as np

from .. import tensors
from ..tensors import Scheme
from . import flips_sym, packing
from .rng import make_rng
from .walk import SearchConfig, check_involution, check_symmetry

Blocks = tuple[tuple[int, ...], ...]
#: A fixed term of the two-fold walk: the entries ``(row, column)`` of its A, B
#: and C factors (see the module).
FixedSpec = tuple[tuple[tuple[int, int], ...], ...]
Term = tuple[int, int, int]


def default_blocks(n: int) -> Blocks:
    """Diagonal indices paired from the ends, ``{0, n-1}, {1, n-2}, …`` (the
    middle one alone for odd n): Moosbauer & Poole's choice for ⟨5,5,5⟩."""
    out = [(i, n - 1 - i) for i in range(n // 2)]
    if n % 2:
        out.append((n // 2,))
    return tuple(out)


def parse_blocks(text: str, n: int) -> Blocks:
    """Blocks from ``"0,4;1,3;2"``; ``ValueError`` unless they partition ``0..n-1``."""
    try:
        blocks = tuple(tuple(int(x) for x in part.split(",")) for part in text.split(";"))
    except ValueError:
        raise ValueError(f"blocks must look like '0,4;1,3;2', got {text!r}") from None
    check_blocks(blocks, n)
    return blocks


def check_blocks(blocks: Sequence[Sequence[int]], n: int, symmetry: int = 3) -> None:
    """``ValueError`` unless ``blocks`` partition ``0..n-1`` (and, for
    ``symmetry=6``, the reversal ``i → n-1-i`` maps each block to a block)."""
    flat = sorted(i for b in blocks for i in b)
    if flat != list(range(n)) or any(len(b) == 0 for b in blocks):
        raise ValueError(f"the blocks {list(map(list, blocks))} do not partition the diagonal "
                         f"indices 0..{n - 1}")
    check_symmetry(symmetry)
    if symmetry == 6:
        sets = {frozenset(b) for b in blocks}
        if any(frozenset(n - 1 - i for i in b) not in sets for b in blocks):
            raise ValueError(f"six-fold symmetry needs blocks that the reversal i → {n - 1}-i "
                             f"maps to blocks, got {list(map(list, blocks))}")


@dataclasses.dataclass(frozen=True)
class Involution:
    """A symmetry of order two of the tensor of ⟨n,m,p⟩, as data.

    The factor of position c (0: A n×m, 1: B m×p, 2: C p×n, row-major bit
    masks) goes to position ``perm[c]``, its bit q to bit ``bits[c][q]``.
    """
    name: str
    shape: tuple[int, int, int]
    perm: tuple[int, int, int]
    bits: tuple[tuple[int, ...], ...]


def _dims(shape: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Rows and columns of the A, B and C factors of ⟨n,m,p⟩."""
    n, m, p = shape
    return (n, m), (m, p), (p, n)


def _entry_map(name: str, shape: Sequence[int]) -> Callable[[int, int, int],
                                                             tuple[int, int, int]]:
    """``(position, row, column) → (position, row, column)`` of an involution."""
    dims = _dims(shape)

    def reverse(c: int, i: int, j: int) -> tuple[int, int, int]:
        return c, dims[c][0] - 1 - i, dims[c][1] - 1 - j

    def transpose(c: int, i: int, j: int) -> tuple[int, int, int]:
        return (1, 0, 2)[c], j, i

    if name == "reverse":
        return reverse
    if name == "transpose":
        return transpose
    return lambda c, i, j: reverse(*transpose(c, i, j))


def involution(shape: Sequence[int], name: str = "reverse") -> Involution:
    """The involution ``name`` (:data:`.walk.INVOLUTIONS`) of ⟨n,m,p⟩:
    ``ValueError`` for τ and ρτ unless n = p."""
    shape = tuple(int(d) for d in shape)
    check_involution(2, name)
    n, m, p = shape
    if name != "reverse" and n != p:
        try:
            rotated = walked_shape(shape, name)
            hint = f"; ⟨{n},{m},{p}⟩ rotated is ⟨{','.join(map(str, rotated))}⟩: walk that shape"
        except ValueError:
            hint = ""
        raise ValueError(f"the transposition maps ⟨n,m,p⟩ to ⟨p,m,n⟩, so the involution "
                         f"{name!r} needs n = p, got ⟨{n},{m},{p}⟩{hint}")
    dims = _dims(shape)
    move = _entry_map(name, shape)
    bits = []
    for c, (rows, cols) in enumerate(dims):
        out = []
        for i, j in itertools.product(range(rows), range(cols)):
            c2, i2, j2 = move(c, i, j)
            out.append(i2 * dims[c2][1] + j2)
        bits.append(tuple(out))
    perm = tuple(move(c, 0, 0)[0] for c in range(3))
    return Involution(name, shape, perm, tuple(bits))


def walked_shape(shape: Sequence[int], name: str = "reverse") -> tuple[int, int, int]:
    """The cyclic rotation of ``shape`` (⟨n,m,p⟩ → ⟨m,p,n⟩, :func:`.tensors.rotate`)
    that the involution ``name`` maps to itself: ``shape`` for ``reverse`` and for
    ⟨n,m,n⟩, else ⟨m,p,n⟩ when m = n and ⟨p,n,m⟩ when m = p (⟨4,4,5⟩ → ⟨4,5,4⟩).
    ``ValueError`` when the three indices differ and ``name`` is τ or ρτ."""
    n, m, p = (int(d) for d in shape)
    check_involution(2, name)
    if name == "reverse" or n == p:
        return n, m, p
    rotated = next((r for r in ((m, p, n), (p, n, m)) if r[0] == r[2]), None)
    if rotated is None:
        raise ValueError(f"the transposition maps ⟨n,m,p⟩ to ⟨p,m,n⟩, so the involution "
                         f"{name!r} needs two equal indices (rotated to n = p), got "
                         f"⟨{n},{m},{p}⟩")
    return rotated


def image_term(t: Term, inv: Involution) -> Term:
    """The involution's image of a term of bit masks."""
    out = [0, 0, 0]
    for c in range(3):
        out[inv.perm[c]] = sum(1 << b for q, b in enumerate(inv.bits[c]) if (t[c] >> q) & 1)
    return (out[0], out[1], out[2])


def table(inv: Involution) -> np.ndarray:
    """``uint64 (3, 8, 256)``: entry ``[c, k, x]`` is the image of the byte x
    as byte k of a factor of position c (:func:`.flips_sym.image`)."""
    out = np.zeros((3, 8, 256), dtype=np.uint64)
    for c in range(3):
        for q, b in enumerate(inv.bits[c]):
            k, bit = divmod(q, 8)
            has = (np.arange(256) >> bit) & 1 == 1
            out[c, k, has] |= np.uint64(1 << b)
    return out


def _unit(n: int, i: int, j: int) -> int:
    """The bit of entry (i, j) of a factor with n columns."""
    return 1 << (i * n + j)


def parse_fixed(text: str, shape: Sequence[int],
                inv: Involution | None = None) -> tuple[FixedSpec, ...]:
    """Fixed terms of the two-fold walk from ``"0.0,1.1/0.0,1.1/0.0,1.1;…"``:
    per term, the entries ``row.column`` of its A, B and C factors (C is p×n,
    indexed ``c_ki``); ``ValueError`` unless the involution (ρ when ``None``)
    maps each to itself."""
    out = []
    try:
        for part in text.split(";"):
            spec = tuple(tuple(sorted({tuple(int(x) for x in e.split("."))
                                       for e in factor.split(",")}))
                         for factor in part.split("/"))
            if len(spec) != 3 or any(len(e) != 2 for f in spec for e in f):
                raise ValueError
            out.append(spec)
    except ValueError:
        raise ValueError(f"fixed terms must look like '0.0,1.1/0.0,1.1/0.0,1.1' (the entries "
                         f"row.column of A, B and C per term, terms split by ';'), "
                         f"got {text!r}") from None
    check_fixed(out, shape, inv)
    return tuple(out)


def _spec_term(spec: FixedSpec, shape: Sequence[int]) -> Term:
    """The bit-mask term of a fixed term given by its entries."""
    dims = _dims(shape)
    masks = [sum(_unit(dims[c][1], i, j) for i, j in entries) for c, entries in enumerate(spec)]
    return (masks[0], masks[1], masks[2])


def check_fixed(fixed: Sequence[FixedSpec], shape: Sequence[int],
                inv: Involution | None = None) -> None:
    """``ValueError`` unless every factor's entries are in range (A n×m, B m×p,
    C p×n) and not empty, and the involution (ρ when ``None``) maps each term
    to itself (ρ: each factor's entries closed under (i, j) → (r-1-i, c-1-j);
    τ: B's entries A's transposed, C's symmetric)."""
    inv = inv or involution(shape)
    for spec in fixed:
        for name, entries, (r, c) in zip("ABC", spec, _dims(shape)):
            if not entries or any(not (0 <= i < r and 0 <= j < c) for i, j in entries):
                raise ValueError(f"fixed term {name}: entries must be row.column within "
                                 f"{r}×{c}, got {entries}")
        t = _spec_term(spec, shape)
        if image_term(t, inv) != t:
            what = ("its entries are not closed under the reversal (i, j) → (r-1-i, c-1-j)"
                    if inv.name == "reverse" else
                    f"the involution {inv.name!r} does not map it to itself")
            text = "/".join(",".join(f"{i}.{j}" for i, j in f) for f in spec)
            raise ValueError(f"fixed term {text}: {what}")


def mirror_start(shape: Sequence[int], fixed: Sequence[FixedSpec] = (),
                 inv: Involution | None = None) -> Scheme:
    """A scheme of ⟨n,m,p⟩ over Z2 invariant under ``inv`` (ρ when ``None``)
    to walk from (``symmetry=2``): the fixed terms of ``fixed``; then the
    schoolbook terms plus the expansions of the fixed terms (mod 2), those
    the involution maps to themselves grouped by their C factor into fixed
    terms (ρ: the centre, when n, m, p are all odd; τ: n terms
    ``(a_i0+…)(b_0i+…) c_ii``) whose expansions are added in turn, and the
    rest in pairs ``t, inv(t)``.

    The two-fold walk of :mod:`.flips_sym` keeps the fixed terms as they are,
    so they decide how far it gets (the τ walk of :mod:`.tau` moves them).
    Over Z2 a τ-fixed term ``u ⊗ uᵀ ⊗ w`` adds ``u ⊗ diag(w)`` to the terms
    ``a_ij b_ji c_kk``, and pairs add nothing there, so the fixed
    terms of every τ-invariant scheme of ⟨n,m,n⟩ satisfy ``Σ u ⊗ diag(w) =
    Σ_ij a_ij ⊗ c_ii`` (an n·m × n matrix of rank n).  Measured on ⟨4,4,4⟩
    (benchmarks/RESULTS.md, twenty-second session): AlphaTensor's 11 fixed
    terms lead the frozen walk to 47 in seconds, the same ``(u, diag w)`` with
    the off-diagonal of each w cleared only to 55."""
    n, m, p = (int(d) for d in shape)
    inv = inv or involution(shape)
    check_fixed(fixed, shape, inv)
    odd: dict[Term, int] = {}

    def toggle(t: Term) -> None:
        odd[t] = odd.get(t, 0) ^ 1

    def add_fixed(t: Term) -> None:
        terms.append(t)
        for x, y, z in itertools.product(*(_bit_masks(f) for f in t)):
            toggle((x, y, z))

    for i, j, k in itertools.product(range(n), range(m), range(p)):
        toggle((_unit(m, i, j), _unit(p, j, k), _unit(n, k, i)))
    terms: list[Term] = []
    for spec in fixed:
        add_fixed(_spec_term(spec, shape))
    groups: dict[int, list[Term]] = {}
    for t in sorted(t for t, c in odd.items() if c and image_term(t, inv) == t):
        groups.setdefault(t[2], []).append(t)
    for w, group in groups.items():
        grouped = (sum({t[0] for t in group}), sum({t[1] for t in group}), w)
        for t in [grouped] if image_term(grouped, inv) == grouped else group:
            add_fixed(t)
    rest = sorted(t for t, c in odd.items() if c)
    if any(image_term(t, inv) == t for t in rest):
        raise ValueError(f"the fixed terms leave terms that the involution {inv.name!r} maps "
                         f"to themselves: give other fixed terms")
    seen: set[Term] = set()
    for t in rest:
        if t not in seen:
            mate = image_term(t, inv)
            seen |= {t, mate}
            terms += [t, mate]
    return _terms_scheme((n, m, p), terms)


def _bit_masks(x: int) -> list[int]:
    """The single bits of the mask x."""
    return [1 << q for q in range(x.bit_length()) if (x >> q) & 1]


def single_entries(shape: Sequence[int]) -> str:
    """The n·m schoolbook terms ``a_ij b_ji c_ii`` of ⟨n,m,n⟩, each its own τ-fixed
    term, as ``--blocks`` text (``'0.0/0.0/0.0;0.1/1.0/0.0;…'``).

    The τ walk (:mod:`.tau`) moves the fixed terms, but not ``(u, diag w)``: a
    fixed flip adds ``y + yᵀ``, whose diagonal is zero mod 2, so the start's
    fixed terms stay (with other off-diagonals) and only those that collapsing
    pairs add can go.  The start's fixed terms bound the rank from below, and
    where they lead is measured: on ⟨4,4,4⟩ the single entries lead the walk to
    52 and its release to 47, the n grouped ones only to 58
    (benchmarks/RESULTS.md, twenty-second and twenty-third sessions); on
    ⟨3,3,3⟩ the grouped ones reach 23 and the entries stop at 25."""
    n, m = int(shape[0]), int(shape[1])
    return ";".join(f"{i}.{j}/{j}.{i}/{i}.{i}" for i in range(n) for j in range(m))


def start_for(shape: Sequence[int], symmetry: int = 3, blocks: str | None = None,
              involution_name: str = "reverse") -> Scheme:
    """The start of a symmetric walk of ``shape``, its fixed terms from the
    text ``blocks`` (``improve --blocks``; ``None``: the default): for
    ``symmetry=2`` :func:`mirror_start` with :func:`parse_fixed` under the
    involution ``involution_name``, otherwise (square shapes) :func:`start`
    with :func:`parse_blocks`.  Under the transposition ``blocks="entries"`` is
    :func:`single_entries`."""
    check_involution(symmetry, involution_name)
    if symmetry == 2:
        inv = involution(shape, involution_name)
        if blocks == "entries":
            if involution_name != "transpose":
                raise ValueError("'entries' (the single entries a_ij b_ji c_ii) are the "
                                 "transposition's fixed terms: use it with 'transpose'")
            blocks = single_entries(shape)
        return mirror_start(shape, () if blocks is None else parse_fixed(blocks, shape, inv), inv)
    n = int(shape[0])
    return start(n, None if blocks is None else parse_blocks(blocks, n), symmetry)


def _terms_scheme(shape: Sequence[int], terms: Sequence[Term]) -> Scheme:
    """The Z2 scheme of ``terms`` (bit-mask triples) of ⟨n,m,p⟩."""
    n, m, p = shape
    cols = np.array(terms, dtype=np.uint64).reshape(-1, 3)
    mats = [packing.bits(cols[:, q], size) for q, size in enumerate((n * m, m * p, p * n))]
    return Scheme(mats[0], mats[1], mats[2], ring="Z2", shape=(n, m, p))


def _diagonal(n: int, block: Sequence[int]) -> int:
    return sum(_unit(n, i, i) for i in block)


def start(n: int, blocks: Blocks | None = None, symmetry: int = 3) -> Scheme:
    """A cyclic-invariant scheme of ⟨n,n,n⟩ over Z2 to walk from: the cubes of
    the blocks' diagonal sums, plus the schoolbook terms off the diagonal
    and the cubes' own cross terms, grouped in orbits.  Rank
    ``n³ - n + len(blocks) + Σ |B|(|B|²-1)`` (over Z2 the cross terms of a
    cube are added back, since the fixed cubes must be cancelled).  With
    ``symmetry=6`` the same terms, whose orbits then pair up under ρ."""
    if symmetry == 2:
        raise ValueError("the two-fold walk starts from mirror_start (any shape)")
    blocks = default_blocks(n) if blocks is None else tuple(map(tuple, blocks))
    check_blocks(blocks, n, symmetry)
    fixed = [(d, d, d) for d in (_diagonal(n, b) for b in blocks)]
    reps: list[Term] = []
    for i, j, k in itertools.product(range(n), repeat=3):
        if i == j == k or (i, j, k) != min((i, j, k), (j, k, i), (k, i, j)):
            continue
        reps.append((_unit(n, i, j), _unit(n, j, k), _unit(n, k, i)))
    for b in blocks:
        for i, j, k in itertools.product(b, repeat=3):
            if i == j == k or (i, j, k) != min((i, j, k), (j, k, i), (k, i, j)):
                continue
            reps.append((_unit(n, i, i), _unit(n, j, j), _unit(n, k, k)))
    return expand((n, n, n), fixed, np.array(reps, dtype=np.uint64).T.reshape(3, -1), len(reps))


def expand(shape: Sequence[int], fixed: Sequence[Term], X: np.ndarray, orbits: int,
           cyclic: bool = True) -> Scheme:
    """The Z2 scheme of the fixed terms ``fixed`` (bit-mask triples) and the
    first ``orbits`` columns of ``X: uint64 (3, cap)``: the fixed terms first,
    then each orbit's three rotations (``cyclic=False``: each column's term)."""
    cols = list(fixed)
    for r in range(orbits):
        x, y, z = (int(X[a, r]) for a in range(3))
        cols += [(x, y, z), (y, z, x), (z, x, y)] if cyclic else [(x, y, z)]
    return _terms_scheme(shape, cols)


def split(scheme: Scheme, symmetry: int = 3,
          involution_name: str = "reverse") -> tuple[list[Term], np.ndarray]:
    """``(fixed terms, representatives uint64 (3, orbits))`` of a
    cyclic-invariant scheme (read mod 2); ``ValueError`` when it is not one.
    With ``symmetry=6`` the representatives come in ρ-pairs (columns ``2k``
    and ``2k+1``, the second ρ of the first), and ``ValueError`` unless the
    scheme is invariant under ρ with no orbit its own image.  With
    ``symmetry=2`` (any shape) the columns are the terms other than the
    fixed ones (``t = inv(t)`` for the involution ``involution_name``), in
    pairs ``t, inv(t)``."""
    check_symmetry(symmetry)
    check_involution(symmetry, involution_name)
    if symmetry == 2:
        _integral(scheme)
        return _split_mirror(scheme, involution(scheme.shape, involution_name))
    n = _square(scheme)
    terms = _nonzero_terms(scheme)
    fixed = [t for t in terms if t[0] == t[1] == t[2]]
    rest: dict[tuple[int, int, int], int] = {}
    for t in terms:
        if not t[0] == t[1] == t[2]:
            rest[t] = rest.get(t, 0) + 1
    reps = []
    while rest:
        t = next(iter(rest))
        for rot in (t, (t[1], t[2], t[0]), (t[2], t[0], t[1])):
            if rest.get(rot, 0) == 0:
                raise ValueError("the scheme is not invariant under the cyclic shift "
                                 "(u, v, w) → (v, w, u)")
            rest[rot] -= 1
            if rest[rot] == 0:
                del rest[rot]
        reps.append(t)
    if symmetry == 6:
        reps = _pair_up(n, fixed, reps)
    return fixed, np.array(reps, dtype=np.uint64).reshape(-1, 3).T.copy()


_NAMES = {"reverse": "index reversal", "transpose": "transposition",
          "both": "transposition with the index reversal"}


def _nonzero_terms(scheme: Scheme) -> list[Term]:
    """The scheme's terms read mod 2 as bit-mask triples, those with a zero
    factor left out."""
    X = packing.pack_z2(scheme, scheme.rank)
    terms = [tuple(int(X[p, r]) for p in range(3)) for r in range(scheme.rank)]
    return [t for t in terms if all(t)]


def _split_mirror(scheme: Scheme, inv: Involution) -> tuple[list[Term], np.ndarray]:
    """:func:`split` for ``symmetry=2``."""
    fixed: list[Term] = []
    rest: dict[Term, int] = {}
    for t in _nonzero_terms(scheme):
        if image_term(t, inv) == t:
            fixed.append(t)
        else:
            rest[t] = rest.get(t, 0) + 1
    cols: list[Term] = []
    for t in sorted(rest):
        while rest[t]:
            image = image_term(t, inv)
            if rest.get(image, 0) == 0:
                raise ValueError(f"the scheme is not invariant under the {_NAMES[inv.name]} "
                                 f"(two-fold symmetry)")
            rest[t] -= 1
            rest[image] -= 1
            cols += [t, image]
    return fixed, np.array(cols, dtype=np.uint64).reshape(-1, 3).T.copy()


def _pair_up(n: int, fixed: list[Term], reps: list[Term]) -> list[Term]:
    """The orbits' representatives ordered in ρ-pairs (see :func:`split`)."""
    rho = involution((n, n, n))
    if sorted(fixed) != sorted(image_term(f, rho) for f in fixed):
        raise ValueError("the scheme's fixed terms are not invariant under the index "
                         "reversal (six-fold symmetry)")
    where: dict[tuple[int, int, int], list[int]] = {}
    for k, t in enumerate(reps):
        for s in range(3):
            where.setdefault((t[s], t[(s + 1) % 3], t[(s + 2) % 3]), []).append(k)
    used = [False] * len(reps)
    out: list[tuple[int, int, int]] = []
    for k, t in enumerate(reps):
        if used[k]:
            continue
        image = image_term(t, rho)
        mates = [q for q in where.get(image, []) if not used[q] and q != k]
        if not mates:
            raise ValueError("the scheme is not invariant under the index reversal with its "
                             "orbits in pairs (six-fold symmetry)")
        used[k] = used[mates[0]] = True
        out += [t, image]
    return out


def is_cyclic_invariant(scheme: Scheme) -> bool:
    """True when the shift ``(u, v, w) → (v, w, u)`` maps the scheme's terms
    (as a multiset, read mod 2 for Z2 schemes) to themselves."""
    try:
        _square(scheme)
    except ValueError:
        return False
    cols = [tuple(map(tuple, (c[0], c[1], c[2]))) for c in tensors.iter_columns(scheme)]
    rotated = [(c[1], c[2], c[0]) for c in cols]
    return sorted(cols) == sorted(rotated)


def search_config(start_rank: int, symmetry: int = 3,
                  involution_name: str = "reverse") -> SearchConfig:
    """The walk settings for symmetric searches, chosen by measurement on
    ⟨5,5,5⟩ (benchmarks/RESULTS.md): independent runs from the start, each
    ended after 3.3·10⁷ orbit flips without a new best of its own; a plus
    transition after 16,667 orbit flips without a reduction, up to a third of
    the start's rank above the run's best; flips drawn uniformly by factor
    value.  (Moosbauer & Poole's settings, counted in orbit flips.)  The
    same for ``symmetry=6``, where an orbit flip is six flips, and for
    ``symmetry=2`` with ``reverse`` or ``both``.  The transposition's walk,
    whose fixed terms move (:mod:`.tau`), runs many short runs instead, as
    measured on ⟨4,4,4⟩ over Z2 (twenty-second and twenty-third sessions):
    each ends after 10⁶ moves without a new best of its own, a plus
    transition after 20,000 moves without a reduction, up to 10 above the
    run's best."""
    if symmetry == 2 and involution_name == "transpose":
        return SearchConfig(symmetric=True, plateau=20_000, plus_slack=10, restart="start",
                            restart_after=1_000_000, symmetry=2, involution="transpose")
    return SearchConfig(symmetric=True, plateau=16_667, plus_slack=max(3, start_rank // 3),
                        restart="start", restart_after=33_000_000, sampling="values",
                        symmetry=symmetry, involution=involution_name)


def _square(scheme: Scheme) -> int:
    if scheme.shape is None or len(set(scheme.shape)) != 1:
        raise ValueError(f"symmetric walks with the cyclic shift need a square shape "
                         f"⟨n,n,n⟩, got {scheme.shape}")
    _integral(scheme)
    return int(scheme.shape[0])


def _integral(scheme: Scheme) -> None:
    if scheme.shape is None:
        raise ValueError("symmetric walks need a scheme of a matrix product ⟨n,m,p⟩")
    if scheme.denominators != (1, 1, 1):
        raise ValueError("symmetric walks need integer coefficients")


class SymmetricWalker:
    """A symmetric scheme on the symmetric flip graph over Z2.

    The same interface as :class:`.walk.Walker`; ranks are counted in terms
    (fixed + 3 · orbits, or fixed + columns for ``symmetry=2``), and a plus
    transition adds a whole orbit.
    """

    def __init__(self, scheme: Scheme, ring: str, cap: int, seed: int,
                 sampling: int = 0, symmetry: int = 3, involution_name: str = "reverse") -> None:
        """``sampling``: 0 uniform pairs, 1 uniform factor values
        (:func:`.flips_sym.walk`); ``symmetry``: 2, 3 or 6, and
        ``involution_name`` the one a two-fold walk keeps (see the module)."""
        if ring != "Z2":
            raise ValueError("symmetric walks are over Z2 (use lifting for Z)")
        packing.check_searchable(scheme, "Z2")
        self.ring = ring
        self.like = scheme
        self.fixed, reps = split(scheme, symmetry, involution_name)
        self.shape = tuple(int(d) for d in scheme.shape)
        self.cyclic = symmetry != 2
        self.mirror = symmetry != 3
        self.size = 3 if self.cyclic else 1  # terms per column
        inv = involution(self.shape, involution_name)  # the partners' (ρ for six-fold)
        self.perm = np.array(inv.perm, dtype=np.int64)
        self.table = table(inv)
        self.step = 2 if self.mirror else 1  # columns per orbit of the group
        self.cap = max(int(cap) // self.size + 2 * self.step, reps.shape[1] + 2 * self.step)
        self.rng = make_rng(seed)
        self.state = np.zeros(2, dtype=np.int64)
        self.pairs = np.zeros((flips_sym.max_pairs(self.cap), 4), dtype=np.int32)
        self.npairs = np.zeros(1, dtype=np.int64)
        self.deg = np.zeros((3, self.cap), dtype=np.int64)
        self.sampling = sampling
        self.X = np.zeros((3, self.cap), dtype=np.uint64)
        self.X[:, :reps.shape[1]] = reps
        orbits = flips_sym.reduce_all(self.X, reps.shape[1], self.mirror, self.perm,
                                     self.table, self.cyclic)
        self._rebuild(orbits)

    def _rebuild(self, orbits: int) -> None:
        flips_sym.rebuild_pairs(self.X, orbits, self.pairs, self.npairs, self.deg, self.mirror,
                                self.cyclic)
        self.state[:] = (orbits, 0)

    def _terms(self, orbits: int) -> int:
        return len(self.fixed) + self.size * orbits

    def _orbits_below(self, rank: int) -> int:
        """Columns o (a multiple of the step) with terms(o) < rank iff o < this."""
        return -(-(rank - len(self.fixed)) // (self.size * self.step)) * self.step

    @property
    def rank(self) -> int:
        return self._terms(int(self.state[0]))

    def snapshot(self) -> tuple[np.ndarray, int]:
        return self.X.copy(), self.rank

    def restore(self, snap: tuple[np.ndarray, int]) -> None:
        X, rank = snap
        self.X[...] = X
        self._rebuild((rank - len(self.fixed)) // self.size)

    def unpack(self, snap: tuple[np.ndarray, int]) -> Scheme:
        X, rank = snap
        return expand(self.shape, self.fixed, X, (rank - len(self.fixed)) // self.size,
                      self.cyclic)

    def scheme(self) -> Scheme:
        return self.unpack((self.X, self.rank))

    def run(self, max_flips: int, *, plateau: int, max_rank: int, stop_below: int = 0,
            target: int = 0) -> tuple[int, int]:
        """As :meth:`.walk.Walker.run`; ``max_rank`` is rounded up to whole
        orbits, so any slack above the best allows one more orbit."""
        t = -1 if target < 0 else (target - len(self.fixed)) // self.size
        flips, code = flips_sym.walk(self.X, self.state, self.pairs, self.npairs, self.deg, self.rng,
                                     int(max_flips), int(plateau),
                                     self._orbits_below(max_rank),
                                     self._orbits_below(stop_below), int(t), self.sampling,
                                     self.mirror, self.perm, self.table, self.cyclic)
        return int(flips), int(code)
