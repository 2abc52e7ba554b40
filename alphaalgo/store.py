"""The results store: one SQLite file (WAL mode) per campaign or shared.

It holds campaigns and their configuration, verified schemes (unique by
canonical form per ring and shape, with provenance), benchmark results per
device, training examples and checkpoint locations.  Several processes may
write one store at once: every write is one short transaction, SQLite's lock
serialises them, and a busy store is waited for (``timeout``), not failed.

Nothing in a store is pickled: schemes are the project's JSON, examples are
``.npz`` bytes read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from . import formats, tensors
from .tensors import Scheme

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, config TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schemes (
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL, ring TEXT NOT NULL, shape TEXT NOT NULL,
    rank INTEGER NOT NULL, data TEXT NOT NULL, provenance TEXT NOT NULL,
    campaign_id INTEGER REFERENCES campaigns(id), created TEXT NOT NULL,
    UNIQUE (ring, shape, hash));
CREATE INDEX IF NOT EXISTS schemes_by_rank ON schemes (shape, ring, rank);
CREATE TABLE IF NOT EXISTS benchmarks (
    id INTEGER PRIMARY KEY, scheme_hash TEXT NOT NULL, device TEXT NOT NULL, backend TEXT NOT NULL,
    size TEXT NOT NULL, dtype TEXT NOT NULL, levels INTEGER NOT NULL, result TEXT NOT NULL,
    created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS benchmarks_by_key
    ON benchmarks (scheme_hash, device, backend, size, dtype, levels);
CREATE TABLE IF NOT EXISTS examples (
    id INTEGER PRIMARY KEY, campaign_id INTEGER REFERENCES campaigns(id), kind TEXT NOT NULL,
    data BLOB NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS examples_by_campaign ON examples (campaign_id, kind);
CREATE TABLE IF NOT EXISTS checkpoints (
    id INTEGER PRIMARY KEY, campaign_id INTEGER REFERENCES campaigns(id), step INTEGER NOT NULL,
    path TEXT NOT NULL, created TEXT NOT NULL);
"""


class StoreError(RuntimeError):
    """A store that cannot be opened, read or written; the message names the file."""


@dataclasses.dataclass(frozen=True)
class StoredScheme:
    """A scheme as the store holds it.

    Attributes:
      id: row id.  hash: ``tensors.canonical_hash`` of the scheme.
      shape: ``(n, m, p)`` (or the target's sizes for an explicit target).
      ring: ``"Z"`` or ``"Z2"``.  rank: multiplications.
      provenance: where it came from (source, command, campaign, ...).
      created: ISO time of insertion.  campaign_id: the campaign that found it, if any.
      scheme: the verified scheme.
    """

    id: int
    hash: str
    shape: tuple[int, int, int]
    ring: str
    rank: int
    provenance: dict
    created: str
    campaign_id: int | None
    scheme: Scheme


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _shape_key(shape: Sequence[int]) -> str:
    return ",".join(str(int(d)) for d in shape)


class Store:
    """A results store in one SQLite file.

    Args:
      path: the database file; created (with its folder) unless ``readonly``.
      readonly: open for reading only; a missing file is an error.
      timeout: seconds to wait for another process's write lock.
    Raises:
      StoreError: the file is not a store, is unreadable, or is read-only when
        written to, or the disk is full; the store itself is left intact.
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False, timeout: float = 60.0):
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"{self.path}: no such store")
                self._conn = self._open_readonly(timeout)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path, timeout=timeout)
            self._conn.row_factory = sqlite3.Row
            if not readonly:
                self._refuse_foreign()
                self._wal(timeout)
                self._conn.execute("PRAGMA synchronous=FULL")
                # one transaction, so another process never sees half a schema
                self._conn.executescript(
                    "BEGIN IMMEDIATE;" + _SCHEMA +
                    f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
                    "COMMIT;")
            version = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(self._explain(exc)) from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open store ({exc.strerror or exc})") from None
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: not an alphaalgo store of schema version {SCHEMA_VERSION}")

    # ------------------------------------------------------------ plumbing
    def _wal(self, timeout: float) -> None:
        """Switch to write-ahead logging.  SQLite answers "database is locked" at
        once, without waiting, when another process is creating or switching the
        same file, so this waits and tries again (up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def _open_readonly(self, timeout: float) -> sqlite3.Connection:
        """Read-only: ``mode=ro``; where that cannot work (a WAL store in a read-only
        folder, whose shared-memory file cannot be made) the file is read as immutable."""
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout)

    def _refuse_foreign(self) -> None:
        """Refuse, before writing anything, an SQLite file that holds tables but is no store."""
        tables = {r[0] for r in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
        if not tables:
            return
        version = None
        if "meta" in tables:
            version = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None:
            self._conn.close()
            raise StoreError(f"{self.path}: an SQLite file that is not an alphaalgo store "
                             "(refusing to add tables to it)")

    def _explain(self, exc: sqlite3.Error) -> str:
        msg = str(exc)
        if "readonly" in msg or "read-only" in msg:
            return f"{self.path}: store is read-only ({msg})"
        if "disk is full" in msg or "disk I/O" in msg:
            return f"{self.path}: cannot write the store ({msg}); nothing was written"
        if "not a database" in msg or "no such table" in msg:
            return f"{self.path}: not an alphaalgo store ({msg})"
        return f"{self.path}: store error ({msg})"

    def _write(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            with self._conn:
                return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(self._explain(exc)) from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(self._explain(exc)) from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        return str(self._read("PRAGMA integrity_check")[0][0])

    # ----------------------------------------------------------- campaigns
    def create_campaign(self, name: str, config: dict) -> int:
        """A new campaign; ``StoreError`` if the name is taken."""
        try:
            with self._conn:
                cur = self._conn.execute(
                    "INSERT INTO campaigns (name, config, created) VALUES (?, ?, ?)",
                    (name, json.dumps(config, sort_keys=True), _now()))
        except sqlite3.IntegrityError:
            raise StoreError(f"{self.path}: a campaign named {name!r} exists already") from None
        except sqlite3.Error as exc:
            raise StoreError(self._explain(exc)) from None
        return int(cur.lastrowid)

    def find_campaign(self, name: str) -> int | None:
        rows = self._read("SELECT id FROM campaigns WHERE name = ?", (name,))
        return int(rows[0]["id"]) if rows else None

    def campaign(self, campaign_id: int) -> dict:
        rows = self._read("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
        if not rows:
            raise StoreError(f"{self.path}: no campaign {campaign_id}")
        row = rows[0]
        try:
            config = json.loads(row["config"])
        except (ValueError, TypeError, RecursionError):
            raise StoreError(f"{self.path}: campaign {campaign_id}'s configuration is damaged") from None
        return {"id": row["id"], "name": row["name"], "config": config, "created": row["created"]}

    def campaigns(self) -> list[dict]:
        return [self.campaign(int(r["id"])) for r in self._read("SELECT id FROM campaigns ORDER BY id")]

    # ------------------------------------------------------------- schemes
    def add_scheme(self, scheme: Scheme, provenance: dict,
                   campaign_id: int | None = None) -> tuple[int, bool]:
        """Verify ``scheme`` exactly and store it unless an equal one is there.

        Returns ``(scheme_id, newly_inserted)``.  Raises ``ValueError`` for an
        invalid scheme (nothing is written).
        """
        check = tensors.verify(scheme)
        if not check.valid:
            raise ValueError(f"refusing to store an invalid scheme: {check.describe()}")
        digest = tensors.canonical_hash(scheme)
        shape = _shape_key(scheme.shape if scheme.shape is not None else scheme.sizes)
        data = json.dumps(formats.scheme_to_json(formats.SchemeRecord("", scheme, {})))
        try:
            with self._conn:
                cur = self._conn.execute(
                    "INSERT OR IGNORE INTO schemes (hash, ring, shape, rank, data, provenance,"
                    " campaign_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (digest, scheme.ring, shape, scheme.rank, data,
                     json.dumps(provenance, sort_keys=True, default=str), campaign_id, _now()))
                inserted = cur.rowcount == 1
                row = self._conn.execute(
                    "SELECT id FROM schemes WHERE ring = ? AND shape = ? AND hash = ?",
                    (scheme.ring, shape, digest)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(self._explain(exc)) from None
        return int(row["id"]), inserted

    def _stored(self, row: sqlite3.Row) -> StoredScheme:
        """A row as a StoredScheme; a damaged cell is a ``StoreError`` naming the row."""
        try:
            rec = formats.scheme_from_json(json.loads(row["data"]), f"scheme {row['id']}")
            provenance = json.loads(row["provenance"])
            if not isinstance(provenance, dict):
                raise ValueError("provenance is not an object")
            return StoredScheme(id=int(row["id"]), hash=str(row["hash"]),
                                shape=tuple(int(x) for x in str(row["shape"]).split(",")),  # type: ignore[arg-type]
                                ring=str(row["ring"]), rank=int(row["rank"]),
                                provenance=provenance, created=str(row["created"]),
                                campaign_id=row["campaign_id"], scheme=rec.scheme)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise StoreError(f"{self.path}: stored scheme #{row['id']} is damaged "
                             f"({str(exc)[:200]})") from None

    @staticmethod
    def _filter(**columns: Any) -> tuple[str, list[Any]]:
        """``" WHERE a = ? AND b = ?"`` and its parameters for the columns not ``None``."""
        given = {k: v for k, v in columns.items() if v is not None}
        where = (" WHERE " + " AND ".join(f"{k} = ?" for k in given)) if given else ""
        return where, list(given.values())

    def _where(self, shape: Sequence[int] | None, ring: str | None,
               campaign_id: int | None) -> tuple[str, list[Any]]:
        return self._filter(shape=None if shape is None else _shape_key(shape), ring=ring,
                            campaign_id=campaign_id)

    def list_schemes(self, shape: Sequence[int] | None = None, ring: str | None = None,
                     campaign_id: int | None = None) -> list[StoredScheme]:
        """Stored schemes, lowest rank first (then oldest)."""
        where, params = self._where(shape, ring, campaign_id)
        rows = self._read(f"SELECT * FROM schemes{where} ORDER BY shape, ring, rank, id", params)
        return [self._stored(r) for r in rows]

    def get_scheme(self, scheme_id: int) -> StoredScheme:
        rows = self._read("SELECT * FROM schemes WHERE id = ?", (scheme_id,))
        if not rows:
            raise StoreError(f"{self.path}: no scheme {scheme_id}")
        return self._stored(rows[0])

    def best_scheme(self, shape: Sequence[int], ring: str,
                    campaign_id: int | None = None) -> StoredScheme | None:
        """The lowest-rank stored scheme for ``shape`` and ``ring``."""
        where, params = self._where(shape, ring, campaign_id)
        rows = self._read(f"SELECT * FROM schemes{where} ORDER BY rank, id LIMIT 1", params)
        return self._stored(rows[0]) if rows else None

    def best_ranks(self) -> list[dict]:
        """Per shape and ring: the best rank, how many schemes reach it, how many in all."""
        rows = self._read(
            "SELECT shape, ring, MIN(rank) AS best, COUNT(*) AS total FROM schemes"
            " GROUP BY shape, ring ORDER BY shape, ring")
        out = []
        for r in rows:
            at_best = self._read("SELECT COUNT(*) FROM schemes WHERE shape = ? AND ring = ?"
                                 " AND rank = ?", (r["shape"], r["ring"], r["best"]))[0][0]
            try:
                out.append({"shape": [int(x) for x in str(r["shape"]).split(",")],
                            "ring": str(r["ring"]), "best_rank": int(r["best"]),
                            "schemes_at_best": int(at_best), "schemes": int(r["total"])})
            except (ValueError, TypeError):
                raise StoreError(f"{self.path}: a stored shape or rank is damaged "
                                 f"({r['shape']!r}, {r['best']!r})") from None
        return out

    # ---------------------------------------------------------- benchmarks
    def add_benchmark(self, scheme_hash: str, device: str, backend: str,
                      size: Sequence[int], dtype: str, levels: int, result: dict) -> int:
        """Record one measurement of a scheme's kernel on a device."""
        cur = self._write(
            "INSERT INTO benchmarks (scheme_hash, device, backend, size, dtype, levels, result,"
            " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (scheme_hash, device, backend, _shape_key(size), dtype, int(levels),
             json.dumps(result, sort_keys=True, default=str), _now()))
        return int(cur.lastrowid)

    def find_benchmark(self, scheme_hash: str, device: str, backend: str, size: Sequence[int],
                       dtype: str, levels: int) -> dict | None:
        """The latest measurement with exactly these keys, or ``None``."""
        rows = self._read(
            "SELECT result FROM benchmarks WHERE scheme_hash = ? AND device = ? AND backend = ?"
            " AND size = ? AND dtype = ? AND levels = ? ORDER BY id DESC LIMIT 1",
            (scheme_hash, device, backend, _shape_key(size), dtype, int(levels)))
        return json.loads(rows[0]["result"]) if rows else None

    def benchmarks(self, scheme_hash: str | None = None, device: str | None = None) -> list[dict]:
        """Every measurement (optionally of one scheme / one device), oldest first."""
        where, params = self._filter(scheme_hash=scheme_hash, device=device)
        rows = self._read(f"SELECT * FROM benchmarks{where} ORDER BY id", params)
        try:
            return [{"id": r["id"], "scheme_hash": r["scheme_hash"], "device": r["device"],
                     "backend": r["backend"], "size": [int(x) for x in str(r["size"]).split(",")],
                     "dtype": r["dtype"], "levels": r["levels"], "result": json.loads(r["result"]),
                     "created": r["created"]} for r in rows]
        except (ValueError, TypeError, RecursionError) as exc:
            raise StoreError(f"{self.path}: a stored benchmark is damaged ({str(exc)[:120]})") from None

    # ------------------------------------------------------------ examples
    def add_examples(self, campaign_id: int | None, kind: str,
                     arrays: dict[str, np.ndarray]) -> int:
        """Store a batch of training examples (numeric arrays only)."""
        for key, value in arrays.items():
            if np.asarray(value).dtype.hasobject:
                raise ValueError(f"example array {key!r} is not numeric")
        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        cur = self._write("INSERT INTO examples (campaign_id, kind, data, created)"
                          " VALUES (?, ?, ?, ?)", (campaign_id, kind, buf.getvalue(), _now()))
        return int(cur.lastrowid)

    def iter_examples(self, campaign_id: int | None = None,
                      kind: str | None = None) -> Iterator[dict[str, np.ndarray]]:
        """The stored example batches, oldest first."""
        where, params = self._filter(campaign_id=campaign_id, kind=kind)
        ids = [int(r["id"]) for r in self._read(f"SELECT id FROM examples{where} ORDER BY id", params)]
        for ident in ids:
            blob = self._read("SELECT data FROM examples WHERE id = ?", (ident,))[0]["data"]
            with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                yield {k: npz[k] for k in npz.files}

    def count_examples(self, campaign_id: int | None = None, kind: str | None = None) -> int:
        where, params = self._filter(campaign_id=campaign_id, kind=kind)
        return int(self._read(f"SELECT COUNT(*) FROM examples{where}", params)[0][0])

    # --------------------------------------------------------- checkpoints
    def record_checkpoint(self, campaign_id: int, step: int, path: str) -> None:
        """Note that the checkpoint at ``path`` (already written atomically) holds ``step``."""
        self._write("INSERT INTO checkpoints (campaign_id, step, path, created) VALUES (?, ?, ?, ?)",
                    (campaign_id, int(step), str(path), _now()))

    def checkpoints(self, campaign_id: int) -> list[tuple[int, str]]:
        """``(step, path)`` of every recorded checkpoint whose file still exists, newest first."""
        rows = self._read("SELECT step, path FROM checkpoints WHERE campaign_id = ?"
                          " ORDER BY step DESC, id DESC", (campaign_id,))
        out, seen = [], set()
        for r in rows:
            if r["path"] not in seen and Path(r["path"]).exists():
                seen.add(r["path"])
                out.append((int(r["step"]), str(r["path"])))
        return out

    def latest_checkpoint(self, campaign_id: int) -> tuple[int, str] | None:
        """``(step, path)`` of the newest recorded checkpoint whose file still exists."""
        found = self.checkpoints(campaign_id)
        return found[0] if found else None
