"""--chunk-size is the unit that bounds memory: Parquet is decoded in batches of at most
that many rows, whatever its row groups. It never changes a report (see also
test_metrics and test_parallel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import bcecli
from bcecli.io.parquet_reader import ParquetReader
from bcecli.io.readers import open_reader
from bcecli.io.sources import make_sources

COLUMNS = ["label", "prob"]
ROW_BYTES = 16  # an int64 label and a float64 prob


def _predictions(rows: int, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"label": (rng.random(rows) < 0.3).astype(np.int64), "prob": rng.random(rows)})


def _parquet_reader(path: Path) -> ParquetReader:
    reader = open_reader(make_sources([str(path)])[0])
    assert isinstance(reader, ParquetReader)
    return reader


def test_parquet_row_group_is_decoded_in_chunk_size_batches(tmp_path: Path) -> None:
    table = _predictions(50_000)
    path = tmp_path / "one_group.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    reader = _parquet_reader(path)
    chunks = list(reader.chunks(COLUMNS, 1000, ["prob"]))
    assert [chunk.table.num_rows for chunk in chunks] == [1000] * 50
    assert [chunk.first_row for chunk in chunks] == list(range(1, 50_000, 1000))
    # Each chunk holds only its own rows' buffers, not a slice of the decoded row group.
    assert max(chunk.table.get_total_buffer_size() for chunk in chunks) <= 2 * 1000 * ROW_BYTES
    assert pa.concat_tables(chunk.table for chunk in chunks).equals(table)
    # A partition of a distributed pass (one row group) is read the same way.
    group = list(reader.row_group_chunks(0, 0, 1, COLUMNS, 1000))
    assert [chunk.first_row for chunk in group] == [chunk.first_row for chunk in chunks]
    assert max(chunk.table.get_total_buffer_size() for chunk in group) <= 2 * 1000 * ROW_BYTES


def test_parquet_rows_are_numbered_across_row_groups_and_batches(tmp_path: Path) -> None:
    table = _predictions(7_500)
    path = tmp_path / "three_groups.parquet"
    pq.write_table(table, path, row_group_size=2_500)
    reader = _parquet_reader(path)
    chunks = list(reader.chunks(COLUMNS, 1000))
    assert [chunk.table.num_rows for chunk in chunks] == [1000, 1000, 500] * 3
    starts = [1, 1001, 2001]
    assert [chunk.first_row for chunk in chunks] == [g * 2500 + s for g in range(3) for s in starts]
    assert pa.concat_tables(chunk.table for chunk in chunks).equals(table)
    second = list(reader.row_group_chunks(0, 1, 2501, COLUMNS, 1000))
    assert [chunk.first_row for chunk in second] == [2501, 3501, 4501]
    assert [chunk.table.num_rows for chunk in second] == [1000, 1000, 500]


def _report(path: Path, chunk_size: int) -> dict[str, Any]:
    document = bcecli.score(str(path), chunk_size=chunk_size, calibration=7, worst=5).to_dict()
    assert document["settings"].pop("chunk_size") == chunk_size
    return document


def test_parquet_batches_never_change_the_report(tmp_path: Path) -> None:
    path = tmp_path / "one_group.parquet"
    pq.write_table(_predictions(50_000), path, row_group_size=50_000)
    whole = _report(path, 50_000)
    for chunk_size in (997, 20_000):
        assert _report(path, chunk_size) == whole
