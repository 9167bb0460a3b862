"""Memory is set by fixed byte budgets, not by the input: the look-ahead of each stage
is bounded in bytes, and text is encoded in small pieces (SPEC section 8)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import bcecli
import bcecli.scoring.inputs as scoring_inputs
from bcecli.core.state import ScoreState
from bcecli.io import csv_reader, parallel, writers
from bcecli.io.readers import Chunk, open_reader
from bcecli.io.sources import make_sources
from bcecli.scoring.rows import iter_row_losses
from bcecli.scoring.settings import Settings

MIB = 1 << 20


# -- each stage's look-ahead, in bytes ------------------------------------------------


class Blob:
    """An item that says how large it is."""

    def __init__(self, size: int) -> None:
        self.size = size


def _in_flight(size: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The most items of ``size`` bytes that ``ordered_map`` holds at once: those taken
    from its source and not yet handed on, and the one its caller has."""
    monkeypatch.setattr(parallel, "STAGE_BYTES", 8 * MIB)
    pulled = 0

    def source() -> Iterator[Blob]:
        nonlocal pulled
        for _ in range(20):
            pulled += 1
            yield Blob(size)

    most = 0
    results = parallel.ordered_map(
        lambda blob: blob, source(), workers=4, size=lambda blob: blob.size
    )
    for taken, _ in enumerate(results, start=1):
        most = max(most, pulled - taken + 1)
    return most


def test_a_stage_keeps_no_more_than_its_byte_budget_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small items: the count bound, one more than the four workers.
    assert _in_flight(1000, monkeypatch) == 5
    # 3 MiB items: the next result, and more behind it while they hold under 8 MiB.
    assert _in_flight(3 * MIB, monkeypatch) == 4
    # Items over the budget: the one the caller works on and the next, never more, so a
    # large chunk size is not multiplied by the workers.
    assert _in_flight(20 * MIB, monkeypatch) == 2


@pytest.fixture
def chunk_counts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Chunks the CSV reader has handed out (``pulled``), with a scoring pool of four
    threads whose stages hold at most the next result and one more (a budget of 1 byte)."""
    counts = {"pulled": 0}
    chunks = csv_reader.CsvReader.chunks

    def counted(self: csv_reader.CsvReader, *args: Any, **kwargs: Any) -> Iterator[Chunk]:
        for chunk in chunks(self, *args, **kwargs):
            counts["pulled"] += 1
            yield chunk

    monkeypatch.setattr(csv_reader.CsvReader, "chunks", counted)
    monkeypatch.setattr(csv_reader, "default_workers", lambda: 1)
    monkeypatch.setattr(scoring_inputs, "default_workers", lambda: 4)
    monkeypatch.setattr(parallel, "STAGE_BYTES", 1)
    return counts


@pytest.fixture
def predictions_csv(tmp_path: Path) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("label,prob\n" + "1,0.75\n0,0.25\n" * 10_000)
    return path


def test_scoring_takes_on_chunks_by_their_bytes(
    chunk_counts: dict[str, int], predictions_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged = 0
    most = 0
    merge = ScoreState.merge

    def counted(self: ScoreState, other: ScoreState) -> None:
        nonlocal merged, most
        most = max(most, chunk_counts["pulled"] - merged)
        merged += 1
        merge(self, other)

    monkeypatch.setattr(ScoreState, "merge", counted)
    report = bcecli.score(str(predictions_csv), chunk_size=1000)
    assert report.to_dict()["metrics"]["rows"] == 20_000
    assert merged == 20
    assert most == 2  # the chunk merged now and the one scored meanwhile; not five


def test_rows_takes_on_chunks_by_their_bytes(
    chunk_counts: dict[str, int], predictions_csv: Path
) -> None:
    reader = open_reader(make_sources([str(predictions_csv)])[0])
    most = 0
    written = 0
    for table in iter_row_losses([reader], Settings(chunk_size=1000)):
        most = max(most, chunk_counts["pulled"] - written)
        written += 1
        assert table.num_rows == 1000
    assert written == 20
    assert most == 2


def test_csv_parsing_takes_on_blocks_by_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("label,prob\n" + "1,0.75\n0,0.25\n" * 100_000)  # 1.4 MB
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (1 << 16, 1 << 16))  # 64 KiB blocks
    monkeypatch.setattr(csv_reader, "default_workers", lambda: 4)
    monkeypatch.setattr(parallel, "STAGE_BYTES", 1)
    read = 0
    blocks = csv_reader.CsvReader._blocks

    def counted(self: csv_reader.CsvReader, block_bytes: int) -> Iterator[bytes]:
        nonlocal read
        for block in blocks(self, block_bytes):
            read += 1
            yield block

    monkeypatch.setattr(csv_reader.CsvReader, "_blocks", counted)
    reader = open_reader(make_sources([str(path)])[0])
    most = 0
    taken = 0
    for chunk in reader.chunks(["label", "prob"], 1_000_000, ["prob"]):
        taken += 1
        most = max(most, read - taken + 1)
        assert chunk.table.num_rows > 0
    reader.close()
    assert taken == read >= 20
    assert most == 2  # the block in hand and the one parsed meanwhile; not five


# -- the writers' text in flight ------------------------------------------------------


def test_text_is_encoded_in_pieces_of_a_fixed_size() -> None:
    rows = 400_000
    table = pa.table({"id": pa.array(range(rows)), "prob": pa.array([0.25] * rows)})
    assert table.nbytes == 16 * rows  # 6.4 MB in one chunk
    encoded: list[int] = []

    class Spy(writers.CsvSink):
        def encode(self, table: pa.Table, *, header: bool) -> writers.Encoded:
            encoded.append(table.nbytes)
            return super().encode(table, header=header)

    out = io.BytesIO()
    tables = [table, table.slice(0, 0), table.slice(0, 10)]
    assert sum(writers.write_rows(Spy(out), tables, parallel=True)) == rows + 10
    # Each piece's text is about as large as its table: what waits to be written in
    # order is a few of these, however large a chunk is.
    assert max(encoded) <= writers.ENCODE_BYTES
    assert len(encoded) >= table.nbytes // writers.ENCODE_BYTES
    # The same text as each chunk encoded whole, with the header once.
    whole = writers.CsvSink(io.BytesIO())
    expected = [whole.encode(table, header=True), whole.encode(table.slice(0, 10), header=False)]
    assert out.getvalue() == b"".join(bytes(memoryview(text)) for text in expected)


# -- the allocator --------------------------------------------------------------------


def test_bce_commits_the_allocators_memory_as_it_uses_it() -> None:
    # Set by the entry point before pyarrow loads (see bcecli.__main__).
    probe = (
        "import os, sys; sys.argv = ['bce', '--version']; import bcecli.__main__ as m\n"
        "try:\n    m.run()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('MIMALLOC_ARENA_EAGER_COMMIT'), file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if k != "MIMALLOC_ARENA_EAGER_COMMIT"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert done.stderr.strip() == "0"
