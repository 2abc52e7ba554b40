"""The published records: best known ranks of ⟨n,m,p⟩ per ring, with sources.

Facts from the literature as collected in the project's design notes
(mid-2026).  Rings: ``Q`` (rational coefficients), ``Z`` (integers), ``ZT``
(coefficients in {−1, 0, 1}; ternary schemes are known at the Z rank for every
shape here), ``Z2`` (mod 2).  A scheme over Z holds over Q and mod 2, so a
ring's record is never above Z's.  Rank is the same for the six orientations
of a shape, so the table is keyed by the sorted shape.

Sources: Strassen (1969); Hopcroft & Kerr (1971), ⟨2,m,n⟩ in
⌈(3mn + max(m,n))/2⌉; Laderman (1976); AT = AlphaTensor (Fawzi et al. 2022);
AE = AlphaEvolve (2025); KM = Kauers & Moosbauer flip graphs (2022–23);
Arai = Arai, Ichikawa & Hukushima adaptive flip graphs (2024); MP = Moosbauer &
Poole symmetric flip graphs (2025); DPS = Dumas, Pernet & Sedoglavic (2025);
"collections" = the public flip-graph scheme collections (Kauers–Moosbauer,
Perminov), where the design notes give no single source.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from .tensors import Shape

RINGS = ("Q", "Z", "ZT", "Z2")


@dataclasses.dataclass(frozen=True)
class Record:
    """The best known ranks of one (sorted) shape.

    Attributes:
      shape: ``(n, m, p)`` with ``n ≤ m ≤ p``.
      z: the best rank with integer coefficients (ternary ones exist at it).
      source: who found ``z``.
      better: ``{ring: (rank, source)}`` where a ring does better than Z.
      lower: the best known lower bound, where the notes give one.
    """

    shape: Shape
    z: int
    source: str
    better: dict[str, tuple[int, str]] = dataclasses.field(default_factory=dict)
    lower: int | None = None

    def rank(self, ring: str) -> int:
        """The record in ``ring`` (Q, Z, ZT, Z2; Z3 and others: Z's)."""
        if ring in self.better:
            return self.better[ring][0]
        return self.z

    def source_of(self, ring: str) -> str:
        return self.better[ring][1] if ring in self.better else self.source


def _r(shape: Shape, z: int, source: str, lower: int | None = None, **better) -> Record:
    return Record(shape, z, source, {k: v for k, v in better.items()}, lower)


HK = "Hopcroft–Kerr 1971"
TABLE: dict[Shape, Record] = {r.shape: r for r in [
    _r((2, 2, 2), 7, "Strassen 1969", lower=7),
    _r((2, 2, 3), 11, HK),
    _r((2, 2, 4), 14, HK),
    _r((2, 2, 5), 18, HK),
    _r((2, 3, 3), 15, HK),
    _r((2, 3, 4), 20, HK),
    _r((2, 3, 5), 25, HK),
    _r((2, 4, 4), 26, HK),
    _r((2, 4, 5), 33, HK, Q=(32, "AE (halves)")),
    _r((2, 5, 5), 40, HK),
    _r((3, 3, 3), 23, "Laderman 1976", lower=19),
    _r((3, 3, 4), 29, "collections"),
    _r((3, 3, 5), 36, "collections"),
    _r((3, 4, 4), 38, "collections"),
    _r((3, 4, 5), 47, "AT"),
    _r((3, 5, 5), 58, "collections"),
    _r((4, 4, 4), 49, "Strassen⊗Strassen", lower=34, Q=(48, "AE over C → DPS over Q"),
       Z2=(47, "AT")),
    _r((4, 4, 5), 61, "AE", Z2=(60, "KM")),
    _r((4, 5, 5), 76, "AT", Z2=(73, "Arai")),
    _r((5, 5, 5), 93, "MP; AE"),
    _r((6, 6, 6), 153, "MP"),
]}


def record(shape: Sequence[int]) -> Record | None:
    """The record of ⟨n,m,p⟩ in any orientation, or ``None`` outside the table."""
    return TABLE.get(tuple(sorted(int(x) for x in shape)))  # type: ignore[arg-type]


def best_known_rank(shape: Sequence[int], ring: str = "Z") -> int | None:
    """Best known rank of ⟨n,m,p⟩ in ``ring`` (``None`` outside the table)."""
    rec = record(shape)
    return None if rec is None else rec.rank(ring)


def lower_bound(shape: Sequence[int]) -> int | None:
    """Best known lower bound on the rank of ⟨n,m,p⟩, where the notes give one."""
    rec = record(shape)
    return None if rec is None else rec.lower
