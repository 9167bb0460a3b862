"""Write reproducible synthetic prediction files for the bce benchmarks.

Columns: id (int64), label (0/1 int64, base rate ~0.30), prob (float64, a noisy
but roughly calibrated model), segment (string, 10 skewed categories) and
weight (lognormal float64, 4 decimals).

Rows are drawn in fixed 1M-row chunks from one seeded generator, so the same
--rows and --seed always give the same rows, whatever the output formats, and
memory stays bounded by one chunk. Every OUT path (.csv, .parquet, .arrow for Arrow IPC,
.jsonl for JSON Lines) is written
in the same single pass:

    python benchmarks/gen_data.py --rows 10000000 data/p10m.csv data/p10m.parquet
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.ipc
import pyarrow.parquet as pq

DEFAULT_SEED = 20240601
CHUNK_ROWS = 1_000_000  # part of the output's identity: changing it changes the rows
LATENT_SD = 1.5
MODEL_NOISE_SD = 0.5
INTERCEPT = -1.16  # with a latent sd of 1.5 this puts the base rate near 0.30
SEGMENTS = np.array([f"seg_{i:02d}" for i in range(10)])
SEGMENT_P = np.array([0.25, 0.18, 0.13, 0.10, 0.08, 0.07, 0.06, 0.05, 0.045, 0.035])
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("label", pa.int64()),
        ("prob", pa.float64()),
        ("segment", pa.string()),
        ("weight", pa.float64()),
    ]
)


def sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def make_chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    """Draw n rows; the draw order is fixed so files stay reproducible."""
    latent = rng.normal(0.0, LATENT_SD, n)
    label = (rng.random(n) < sigmoid(INTERCEPT + latent)).astype(np.int64)
    # The "model" sees the latent score through noise, so it is imperfect.
    noisy = INTERCEPT + latent + rng.normal(0.0, MODEL_NOISE_SD, n)
    prob = np.clip(sigmoid(noisy), 1e-12, 1 - 1e-12)
    segment = SEGMENTS[rng.choice(len(SEGMENTS), n, p=SEGMENT_P)]
    weight = np.round(rng.lognormal(0.0, 0.5, n), 4)
    columns = [np.arange(start, start + n, dtype=np.int64), label, prob, segment, weight]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=SCHEMA)


def iter_chunks(rows: int, seed: int) -> Iterator[pa.Table]:
    rng = np.random.default_rng(seed)
    for start in range(0, rows, CHUNK_ROWS):
        yield make_chunk(rng, start, min(CHUNK_ROWS, rows - start))


class TableWriter(Protocol):
    def write_table(self, table: pa.Table) -> None: ...


def open_csv(path: Path, stack: ExitStack) -> TableWriter:
    sink = stack.enter_context(pa.OSFile(str(path), "wb"))
    # Unquoted header and values, like pandas.to_csv output (pyarrow would quote the header).
    sink.write((",".join(SCHEMA.names) + "\n").encode())
    options = pcsv.WriteOptions(include_header=False, quoting_style="none")
    writer: TableWriter = stack.enter_context(pcsv.CSVWriter(sink, SCHEMA, write_options=options))
    return writer


def open_parquet(path: Path, stack: ExitStack) -> TableWriter:
    # Each 1M-row chunk becomes exactly one zstd row group.
    writer: TableWriter = stack.enter_context(
        pq.ParquetWriter(str(path), SCHEMA, compression="zstd")
    )
    return writer


def open_arrow(path: Path, stack: ExitStack) -> TableWriter:
    # The IPC file format, uncompressed (as pandas' and polars' write_ipc default to
    # for Feather v2 with compression="uncompressed"), a record batch per 1M-row chunk.
    sink = stack.enter_context(pa.OSFile(str(path), "wb"))
    writer: TableWriter = stack.enter_context(pa.ipc.new_file(sink, SCHEMA))
    return writer


class JsonLinesWriter:
    """One JSON object per row, the floats as Python's repr writes them."""

    def __init__(self, path: Path, stack: ExitStack) -> None:
        self.sink = stack.enter_context(open(path, "w", encoding="utf-8"))  # noqa: SIM115

    def write_table(self, table: pa.Table) -> None:
        self.sink.writelines(json.dumps(row) + "\n" for row in table.to_pylist())


FORMATS = {
    ".csv": open_csv,
    ".parquet": open_parquet,
    ".arrow": open_arrow,
    ".jsonl": JsonLinesWriter,
}


def open_writer(path: Path, stack: ExitStack) -> TableWriter:
    """Open a writer on PATH.partial, in the format PATH's extension names."""
    if path.suffix not in FORMATS:
        raise SystemExit(f"gen_data: unknown extension {path.suffix!r} (use {', '.join(FORMATS)})")
    return FORMATS[path.suffix](partial_path(path), stack)


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def generate(rows: int, seed: int, outputs: list[Path]) -> None:
    """Write every output in one pass; each appears only once complete."""
    with ExitStack() as stack:
        writers = [open_writer(p, stack) for p in outputs]
        for table in iter_chunks(rows, seed):
            for writer in writers:
                writer.write_table(table)
    # Rename last, so an interrupted run never leaves a file that looks finished.
    for path in outputs:
        os.replace(partial_path(path), path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "outputs", nargs="+", type=Path, metavar="OUT", help=".csv, .parquet, .arrow or .jsonl"
    )
    args = parser.parse_args(argv)
    if args.rows <= 0:
        parser.error("--rows must be positive")
    if any(p.suffix not in FORMATS for p in args.outputs):
        parser.error(f"every OUT must end in one of {', '.join(FORMATS)}")
    for path in args.outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
    generate(args.rows, args.seed, args.outputs)


if __name__ == "__main__":
    main()
