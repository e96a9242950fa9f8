"""Write a cohort to Parquet chunk by chunk: one row group per chunk, written on a second thread.

The main thread draws the next chunk while a writer thread encodes and compresses the last
one (pyarrow releases the GIL), so generation and writing overlap on two cores; at most two
chunks wait in between, so memory does not grow with the number of patients.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from necml.dataset._io import METADATA_KEY
from necml.files import atomic_write

__all__ = ["write_cohort_chunks"]

_DONE = object()


def _write_all(chunks: Iterable[pd.DataFrame], tmp: Path, metadata: dict[str, object]) -> int:
    pending: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def writer() -> None:
        sink: pq.ParquetWriter | None = None
        try:
            while (table := pending.get()) is not _DONE:
                if sink is None:
                    meta = dict(table.schema.metadata or {})
                    meta[METADATA_KEY] = json.dumps(metadata, sort_keys=True).encode("utf-8")
                    sink = pq.ParquetWriter(tmp, table.schema.with_metadata(meta))
                sink.write_table(table, row_group_size=table.num_rows)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)
            while pending.get() is not _DONE:  # keep the producer from blocking
                pass
        finally:
            if sink is not None:
                sink.close()

    thread = threading.Thread(target=writer, name="necml-parquet-writer", daemon=True)
    thread.start()
    rows = 0
    try:
        for frame in chunks:
            if failure:
                break
            rows += len(frame)
            pending.put(pa.Table.from_pandas(frame, preserve_index=False))
    finally:
        pending.put(_DONE)
        thread.join()
    if failure:
        raise failure[0]
    return rows


def write_cohort_chunks(
    chunks: Iterable[pd.DataFrame], path: str | Path, metadata: dict[str, object]
) -> tuple[Path, int]:
    """Write consecutive frames of one cohort to one Parquet file with necml's metadata.

    The file reads back (:func:`necml.dataset.read_cohort`) as the concatenated frames, with
    the same columns, dtypes and metadata as :func:`necml.dataset.write_cohort` would write.

    Parameters
    ----------
    chunks : iterable of pandas.DataFrame
        Frames with the same columns and dtypes (e.g. :func:`necml.cohort.iter_cohort`).
    path : str or pathlib.Path
        Destination ``.parquet`` file; written atomically (nothing there if a chunk fails).
    metadata : dict
        JSON-serialisable provenance.

    Returns
    -------
    path : pathlib.Path
        The destination.
    rows : int
        Rows written.
    """
    rows: list[int] = []
    written = atomic_write(path, lambda tmp: rows.append(_write_all(chunks, Path(tmp), metadata)))
    return written, rows[0]
