"""Agent presets: ``agents/<name>.toml`` read with tomllib into typed settings.

A preset has the tables ``[game]``, ``[network]``, ``[search]``, ``[training]``,
``[replay]``, ``[demos]`` and ``[acting]``, one dataclass each (:data:`TABLES`);
every key is optional (the dataclass defaults apply) and an unknown key is an
error.  ``--agent`` takes a preset name (a file
in ``agents/``) or a path to a ``.toml`` file.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import tomllib
from pathlib import Path

from .demos import DemoConfig
from .learner import LearnerConfig
from .network import NetConfig
from .search import SearchConfig


def agents_dir() -> Path:
    """The agent presets and shipped parameters: package data (``alphaalgo/agents``,
    also reached as ``agents/`` in a checkout), read through ``importlib.resources`` so
    that an installed wheel — a Ray worker's included — finds them."""
    return Path(os.fspath(importlib.resources.files("alphaalgo") / "agents"))


@dataclasses.dataclass(frozen=True)
class GameSettings:
    """Attributes:
      history: past actions in the state.
      max_moves: the move limit (0: ``move_slack`` times the naive rank n·m·p, or
        times the target's slice-rank bound).
      move_slack: see ``max_moves``.
      coefficients: the coefficient set (empty: the default for the shape and ring).
    """

    history: int = 2
    max_moves: int = 0
    move_slack: float = 1.25
    coefficients: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class ReplaySettings:
    """The ``[replay]`` table: what the learner trains on and how often.

    Attributes:
      replay_size: replay buffer capacity (self-play and schemes local search improved).
      demo_fraction: share of each batch drawn fresh from synthetic demonstrations.
      pretrain_steps: updates on demonstrations alone before the first game.
      updates_per_round: updates after each round of games.
      checkpoint_seconds: time between checkpoints.
      demonstration_fraction: share of the non-synthetic half of each batch drawn
        from demonstrations of whole schemes (ones local search improved, a warm
        start) while there are any; the rest is self-play.
      real_fraction: share of the synthetic demonstrations drawn instead from
        real schemes of the target (a harvest, ``discover --demos STORE``), each
        under a fresh random symmetry of the tensor, when there are any.
      augment_replay: put self-play and scheme demonstrations under a random
        signed permutation too, like the synthetic ones.  Off (the default) the
        agent trains on the states it meets on its target; on, it could not
        learn the moves of a scheme local search improved (measured: see benchmarks/RESULTS.md).
    """

    replay_size: int = 50000
    demo_fraction: float = 0.5
    demonstration_fraction: float = 0.25
    real_fraction: float = 0.5
    augment_replay: bool = False
    pretrain_steps: int = 200
    updates_per_round: int = 4
    checkpoint_seconds: float = 30.0


@dataclasses.dataclass(frozen=True)
class ActingSettings:
    """Attributes:
      games: games played at once (one batched search per move).
      basis_change: probability that a game is played on a randomly changed basis.
      transvections: elementary matrices per mode in such a change over Z.
      transvections_z2: the same over Z2.  Every basis change keeps Z2's coefficient
        set, so a well-scrambled basis costs nothing there, and it is what lets the
        agent's own games reach rank 7 on ⟨2,2,2⟩ (with 1, none did; see
        benchmarks/RESULTS.md).  Over Z more of them push a scheme's coefficients
        out of the set, so fewer games end at all.
      localsearch_seconds: local-search time for each new scheme (if ``alphaalgo.localsearch`` exists).
      speed_weight: λ in r' = r + λ·speed_score (if ``alphaalgo.bench`` exists; 0 = off).
      endgames: the share of each round's games that start as endgames
        (``player.Endgames``): from T minus all but k terms of a real scheme of
        the target (``discover --demos STORE``, and the campaign's own schemes at
        its best rank).  0 turns them off.
      endgame_k: k at the start.  After each round k grows by one when at least
        half of its endgames were solved at their scheme's rank or lower, and
        falls by one (not below 1) when none was.
    """

    games: int = 16
    basis_change: float = 0.5
    transvections: int = 1
    transvections_z2: int = 4
    localsearch_seconds: float = 1.0
    speed_weight: float = 0.0
    endgames: float = 0.0
    endgame_k: int = 2

    def transvections_for(self, ring: str) -> int:
        """Elementary matrices per mode in a basis change over ``ring``."""
        return self.transvections_z2 if ring == "Z2" else self.transvections


@dataclasses.dataclass(frozen=True)
class Preset:
    """A whole agent configuration."""

    name: str
    game: GameSettings
    network: NetConfig
    search: SearchConfig
    training: LearnerConfig
    replay: ReplaySettings
    demos: DemoConfig
    acting: ActingSettings

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


TABLES = {"game": GameSettings, "network": NetConfig, "search": SearchConfig,
          "training": LearnerConfig, "replay": ReplaySettings, "demos": DemoConfig,
          "acting": ActingSettings}
"""Each TOML table and the dataclass it builds (the :class:`Preset` field of the same name)."""


def _build(cls, table: dict, where: str):
    names = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in names:
            raise ValueError(f"{where}: unknown key {key!r} (expected one of {', '.join(names)})")
    kwargs = {}
    for key, value in table.items():
        default = names[key].default
        if isinstance(default, tuple):
            value = tuple(int(x) for x in value)
        elif isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, int) and not isinstance(value, int):
            raise ValueError(f"{where}: {key} must be an integer, got {value!r}")
        elif isinstance(default, float):
            value = float(value)
        kwargs[key] = value
    return cls(**kwargs)


def list_presets() -> list[str]:
    return sorted(p.stem for p in agents_dir().glob("*.toml"))


def load_preset(name: str) -> Preset:
    """The preset ``name`` (in ``agents/``) or at the path ``name``; ValueError if bad."""
    path = Path(name)
    if path.suffix != ".toml":
        path = agents_dir() / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"no agent preset {name!r} (have {', '.join(list_presets())}, or give a .toml path)")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - set(TABLES)
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {', '.join(sorted(unknown))} "
                         f"(expected {', '.join(TABLES)})")
    built = {key: _build(cls, data.get(key, {}), f"{path} [{key}]") for key, cls in TABLES.items()}
    return Preset(name=path.stem, **built)
