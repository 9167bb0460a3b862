"""The parallel paths (CSV blocks parsed and chunks scored on a thread pool, Parquet row
groups decoded ahead) give reports bit-for-bit identical to one stream on one thread."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_an_error_from_the_items_comes_in_its_place_after_the_results_before_it(
    workers: int,
) -> None:
    """ordered_map takes items ahead while the caller works; an item that fails to come
    (a later block that does not parse) is raised where it stands, after the results of
    the items before it, as the inline map on one worker raises it."""
    from bcecli.io.parallel import ordered_map

    def items() -> Any:
        yield 1
        yield 2
        raise ValueError("the third item")

    got: list[int] = []
    with pytest.raises(ValueError, match="the third item"):
        for result in ordered_map(lambda x: x * 10, items(), workers=workers):
            got.append(result)
    assert got == [10, 20]
