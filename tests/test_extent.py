"""Issue 14: how much a source holds (``measure``) and how far through it each chunk is
(``Chunk.through``), the figures the progress bar is drawn from: bytes of the file as
stored for delimited text (compressed bytes for .gz, .bz2, .zst), rows from the footers
for Parquet, nothing where the size is unknown (standard input, a pipe)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bcecli.io.readers import Chunk, Extent, measure, open_reader
from bcecli.io.sources import make_sources

from conftest import CORPUS

LINE = 11  # bytes of every line below: "label,prob\n" and "1,0.123456\n"


def fixed_width_csv(path: Path, rows: int) -> Path:
    """A CSV file whose every line is LINE bytes, so each row's end offset is known."""
    rng = np.random.default_rng(14)
    probs = rng.integers(0, 1_000_000, rows)
    labels = rng.integers(0, 2, rows)
    text = "label,prob\n" + "".join(f"{y},0.{p:06d}\n" for y, p in zip(labels, probs))
    path.write_text(text, encoding="ascii")
    return path


def chunks_of(path: str | Path, chunk_size: int) -> list[Chunk]:
    source = make_sources([str(path)])[0]
    reader = open_reader(source)
    try:
        return list(reader.chunks(reader.column_names[:2], chunk_size))
    finally:
        reader.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # About 3.3 MB: several blocks of at least 1 MiB.
    return fixed_width_csv(tmp_path_factory.mktemp("extent") / "plain.csv", 300_000)


def test_a_plain_csv_chunk_ends_at_the_byte_offset_of_its_last_row(plain: Path) -> None:
    assert measure(make_sources([str(plain)])[0]) == Extent(plain.stat().st_size, "bytes")
    # Blocks of about chunk-size rows: each chunk is one whole block.
    chunks = chunks_of(plain, 100_000)
    assert len(chunks) >= 3
    for chunk in chunks:
        last_row = chunk.first_row - 1 + chunk.table.num_rows
        assert chunk.through == LINE + LINE * last_row
    assert chunks[-1].through == plain.stat().st_size


def test_pieces_of_a_block_share_out_its_bytes_in_order(plain: Path) -> None:
    chunks = chunks_of(plain, 1000)
    through = [chunk.through for chunk in chunks]
    assert all(isinstance(value, int) for value in through)
    assert through == sorted(through) and len(set(through)) == len(through)
    assert through[-1] == plain.stat().st_size
    # Within a few lines of where each piece really ends.
    for chunk in chunks:
        last_row = chunk.first_row - 1 + chunk.table.num_rows
        assert abs(chunk.through - LINE * (last_row + 1)) <= 2 * LINE  # type: ignore[operator]


@pytest.mark.parametrize("codec", ["gzip", "bz2", "zstd"])
def test_compressed_text_counts_compressed_bytes(plain: Path, tmp_path: Path, codec: str) -> None:
    suffix = {"gzip": ".gz", "bz2": ".bz2", "zstd": ".zst"}[codec]
    path = tmp_path / f"plain.csv{suffix}"
    with pa.CompressedOutputStream(str(path), codec) as out:
        out.write(plain.read_bytes())
    stored = path.stat().st_size
    assert stored < plain.stat().st_size / 2  # so a count of text bytes would overshoot
    assert measure(make_sources([str(path)])[0]) == Extent(stored, "bytes")
    through = [chunk.through for chunk in chunks_of(path, 100_000)]
    assert through[-1] == stored
    assert through == sorted(through)  # type: ignore[type-var]
    assert 0 < through[0] < stored  # type: ignore[operator]


def test_parquet_counts_rows_from_the_footer(tmp_path: Path) -> None:
    rows = 25_000
    table = pa.table({"label": np.arange(rows) % 2, "prob": np.linspace(0.01, 0.99, rows)})
    path = tmp_path / "groups.parquet"
    pq.write_table(table, path, row_group_size=10_000)
    assert measure(make_sources([str(path)])[0]) == Extent(rows, "rows")
    through = [chunk.through for chunk in chunks_of(path, 4000)]
    assert through == [4000, 8000, 10_000, 14_000, 18_000, 20_000, 24_000, 25_000]


def test_a_parquet_dataset_counts_the_rows_of_every_file() -> None:
    dataset = CORPUS / "parquet_dataset"
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in dataset.rglob("*.parquet"))
    assert len(list(dataset.rglob("*.parquet"))) > 1
    assert measure(make_sources([str(dataset)])[0]) == Extent(rows, "rows")
    chunks = chunks_of(dataset, 1_000_000)
    assert len(chunks) > 1
    # Through the whole dataset, not each file: it keeps growing across files.
    assert [c.through for c in chunks] == list(np.cumsum([c.table.num_rows for c in chunks]))
    assert chunks[-1].through == rows


def measured_in_a_process(*sources: tuple[str, str | None], stdin: int) -> list[str]:
    """What measure() says of each (path, input format), in a process whose standard
    input is ``stdin``: a hang (a read of a pipe that never ends) fails by a timeout."""
    code = (
        "import sys\n"
        "from bcecli.io.readers import measure\n"
        "from bcecli.io.sources import make_sources\n"
        "for path, fmt in zip(sys.argv[1::2], sys.argv[2::2]):\n"
        "    print(measure(make_sources([path], input_format=fmt or None)[0]))\n"
    )
    args = [part for path, fmt in sources for part in (path, fmt or "")]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], stdin=stdin, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().split()


def test_standard_input_and_pipes_have_no_size_and_are_not_read_to_measure_them(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)  # nobody writes it: opening it to read would wait for ever
    reader, writer = os.pipe()  # held open: standard input never ends
    try:
        said = measured_in_a_process(
            ("-", None), ("-", "parquet"), (str(fifo), None), (str(fifo), "csv"), stdin=reader
        )
    finally:
        os.close(reader)
        os.close(writer)
    assert said == ["None"] * 4


def test_the_chunks_of_a_named_pipe_say_none(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w", encoding="ascii") as stream:
            stream.write("label,prob\n" + "1,0.9\n0,0.2\n" * 100)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    chunks = chunks_of(fifo, 50)
    thread.join(timeout=10)
    assert [c.through for c in chunks] == [None] * 4


def test_a_source_that_cannot_be_read_is_unmeasured_not_an_error() -> None:
    # The pass says why when it reaches it; measuring only gives up.
    assert measure(make_sources([str(CORPUS / "truncated.parquet")])[0]) is None
