"""Local search on flip graphs, and Hensel lifting of Z2 schemes to Z.

Modules: :mod:`.flips_z2` (bit-packed Z2 kernels), :mod:`.flips_z` (Z kernels
with bounded coefficients), :mod:`.walk` (walks, pool, restarts: ``search``),
:mod:`.symmetric` (cyclic-invariant schemes, orbit flips),
:mod:`.parallel` (several walkers, one process each),
:mod:`.additions` (fewest additions at a rank, for kernels),
:mod:`.lifting` (Z2 → Z by Hensel lifting and rational reconstruction).
"""

from .additions import AdditionsConfig, AdditionsResult, minimize_additions
from .lifting import LiftResult, lift, lift_any
from .parallel import parallel_search
from .walk import LiftError, SearchConfig, SearchResult, Walker, search

__all__ = ["AdditionsConfig", "AdditionsResult", "LiftError", "LiftResult", "SearchConfig",
           "SearchResult", "Walker", "lift", "lift_any", "minimize_additions", "parallel_search",
           "search"]
