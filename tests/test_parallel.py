"""The parallel paths (CSV blocks parsed and chunks scored on a thread pool, Parquet row
groups decoded ahead) give reports bit-for-bit identical to one stream on one thread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bcecli
import bcecli.io.csv_reader as csv_reader
import bcecli.io.parquet_reader as parquet_reader
import bcecli.scoring.inputs as scoring_inputs


def _document(path: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(csv_reader, "default_workers", lambda: workers)
    monkeypatch.setattr(parquet_reader, "default_workers", lambda: workers)
    monkeypatch.setattr(scoring_inputs, "default_workers", lambda: workers)
    report = bcecli.score(
        str(path), weight="w", by="g", calibration=7, worst=9, keep="id", chunk_size=997
    )
    return json.dumps(report.to_dict(), sort_keys=True)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(11)
    n = 60_000
    return pa.table(
        {
            "id": np.arange(n),
            "label": (rng.random(n) < 0.35).astype(np.int64),
            "prob": np.round(rng.random(n), 6),
            "w": np.round(rng.lognormal(0, 1, n), 3),
            "g": rng.choice(["a", "b", "c"], n),
        }
    )


def test_csv_on_threads_equals_one_stream(
    table: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.csv"
    table.to_pandas().to_csv(path, index=False)
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (64 * 1024, 64 * 1024))  # dozens of blocks
    serial = _document(path, 1, monkeypatch)
    assert _document(path, 2, monkeypatch) == serial
    assert _document(path, 4, monkeypatch) == serial


def test_parquet_row_groups_ahead_equal_one_stream(
    table: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(table, path, row_group_size=7_000)
    serial = _document(path, 1, monkeypatch)
    assert _document(path, 2, monkeypatch) == serial
