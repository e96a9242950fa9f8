"""Finished replicates, persisted one by one in SQLite (``replicates.sqlite`` in the study directory).

Each replicate is committed as soon as the main process receives it, keyed by (scenario,
replicate): a crashed, killed or interrupted study loses at most the replicates in flight, and a
replicate received twice (a retried task) is stored once. The store remembers the study's hash;
resuming with a different study is refused.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from necml.exceptions import DataError
from necml.simulation._replicate import ReplicateResult

__all__ = ["ReplicateStore"]


class ReplicateStore:
    """The SQLite file of a study's finished replicates.

    Parameters
    ----------
    path : pathlib.Path
    study_hash : str
        Identity of the study (its resolved config); must match an existing store's.
    """

    def __init__(self, path: Path, study_hash: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        # a write-ahead log, synced at checkpoints: a commit survives the process being killed (what
        # resume relies on) at a fraction of the cost of syncing each commit; a power cut may lose the
        # last few commits, which a resume recomputes, but cannot corrupt the file
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replicates (scenario TEXT, replicate INTEGER, seconds REAL, rows TEXT, "
            "PRIMARY KEY (scenario, replicate))"
        )
        found = self._db.execute("SELECT value FROM meta WHERE key = 'study_hash'").fetchone()
        if found is None:
            self._db.execute("INSERT INTO meta VALUES ('study_hash', ?)", (study_hash,))
            self._db.commit()
        elif found[0] != study_hash:
            self._db.close()
            raise DataError(f"{path}: holds replicates of a different study (or seed); use another --out")

    def done(self) -> set[tuple[str, int]]:
        """(scenario, replicate) pairs already stored."""
        return {(s, int(r)) for s, r in self._db.execute("SELECT scenario, replicate FROM replicates")}

    def add(self, results: list[ReplicateResult]) -> int:
        """Store replicates (a chunk's, in one commit); how many were new (one stored before is skipped)."""
        before = self._db.total_changes
        self._db.executemany(
            "INSERT OR IGNORE INTO replicates VALUES (?, ?, ?, ?)",
            [(r.scenario, r.replicate, r.seconds, json.dumps(r.rows, default=float)) for r in results],
        )
        self._db.commit()
        return self._db.total_changes - before

    def frame(self) -> pd.DataFrame:
        """Every stored row, ordered by scenario and replicate."""
        rows = []
        for (payload,) in self._db.execute("SELECT rows FROM replicates ORDER BY scenario, replicate"):
            rows += json.loads(payload)
        return pd.DataFrame(rows)

    def seconds(self) -> float:
        """Total compute time of the stored replicates."""
        return float(self._db.execute("SELECT COALESCE(SUM(seconds), 0) FROM replicates").fetchone()[0])

    def close(self) -> None:
        self._db.close()
