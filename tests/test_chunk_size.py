"""--chunk-size is the unit that bounds memory: Parquet is decoded in batches of at most
that many rows, whatever its row groups, and CSV is parsed in blocks of about that many
rows. It never changes a report (see also test_metrics and test_parallel)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bcecli
from bcecli.io import csv_reader
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


def _csv_blocks(
    path: Path, chunk_size: int, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[int, int]]:
    """(bytes, rows) of every block the CSV reader parses for one pass."""
    blocks: list[tuple[int, int]] = []
    parse = csv_reader.BlockParser.parse

    def spy(self: csv_reader.BlockParser, block: bytes, rows_before: int) -> Any:
        table = parse(self, block, rows_before)
        blocks.append((len(block), table.num_rows))
        return table

    with monkeypatch.context() as patch:
        patch.setattr(csv_reader.BlockParser, "parse", spy)
        reader = open_reader(make_sources([str(path)])[0])
        chunks = list(reader.chunks(COLUMNS, chunk_size, ["prob"]))
        reader.close()
    assert max(chunk.table.num_rows for chunk in chunks) <= chunk_size
    assert sum(rows for _, rows in blocks) == sum(chunk.table.num_rows for chunk in chunks)
    return blocks


@pytest.fixture(scope="module")
def fixed_width_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400,000 rows of 11 bytes each: more than the reader's first read (4 MiB)."""
    rng = np.random.default_rng(5)
    lines = [f"{int(y)},{p:.6f}\n" for y, p in zip(rng.random(400_000) < 0.3, rng.random(400_000))]
    assert {len(line) for line in lines} == {11}
    path = tmp_path_factory.mktemp("csv") / "fixed.csv"
    path.write_text("label,prob\n" + "".join(lines))
    return path


def test_csv_blocks_are_bounded_by_a_small_chunk_size(
    fixed_width_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    floor = csv_reader.BLOCK_RANGE[0]
    blocks = _csv_blocks(fixed_width_csv, 1000, monkeypatch)
    # 1000 rows are 11 kB, under the floor: no block is longer than the floor and the
    # line carried over from the read before.
    assert max(size for size, _ in blocks) <= floor + 11
    assert len(blocks) >= fixed_width_csv.stat().st_size // floor


def test_csv_blocks_hold_about_chunk_size_rows(
    fixed_width_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (1, 1 << 26))  # no floor: see the estimate
    for chunk_size in (7_000, 20_000, 150_000):
        blocks = _csv_blocks(fixed_width_csv, chunk_size, monkeypatch)
        assert max(rows for _, rows in blocks) == chunk_size
        # Whole blocks but the one where the first read ends, and the last.
        assert len(blocks) <= -(-400_000 // chunk_size) + 1


def test_default_chunk_size_parses_that_many_rows_a_block(
    fixed_width_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bcecli.scoring.settings import DEFAULT_CHUNK_SIZE

    # 1.1 MB of these rows; 4.3 MB of the benchmark's, about the 4 MiB blocks of before.
    blocks = _csv_blocks(fixed_width_csv, DEFAULT_CHUNK_SIZE, monkeypatch)
    assert max(rows for _, rows in blocks) == DEFAULT_CHUNK_SIZE


def test_csv_blocks_never_change_the_report(
    fixed_width_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _report(fixed_width_csv, 400_000)
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (1, 1 << 26))
    for chunk_size in (997, 20_000, 100_000):
        assert _report(fixed_width_csv, chunk_size) == whole


# VmHWM belongs to the process's own memory map, made anew at exec; ru_maxrss would
# also count the pytest process the child was forked from (it survives exec).
_PEAK_RSS = """
import sys
from bcecli.cli import main
status = main(sys.argv[1:])
with open("/proc/self/status") as status_file:
    peak = next(int(line.split()[1]) for line in status_file if line.startswith("VmHWM:"))
print(peak, file=sys.stderr)
sys.exit(status)
"""


def _peak_kib(*args: str) -> int:
    """Peak resident memory (KiB, as Linux counts it) of a fresh process running bce."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, "score", *args, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_peak_memory_follows_the_chunk_size_not_the_row_group(tmp_path: Path) -> None:
    rows = 5_000_000
    big = tmp_path / "big.parquet"
    pq.write_table(_predictions(rows), big, row_group_size=rows)
    tiny = tmp_path / "tiny.parquet"
    pq.write_table(_predictions(10), tiny)
    decoded_kib = rows * ROW_BYTES // 1024  # the row group decoded whole: 78 MiB
    start_up = _peak_kib(str(tiny))  # Python, numpy, pyarrow and bce
    small = _peak_kib(str(big), "--chunk-size", "10000")
    whole = _peak_kib(str(big), "--chunk-size", str(rows))
    assert small - start_up < decoded_kib // 2
    assert small < whole
