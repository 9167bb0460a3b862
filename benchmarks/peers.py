"""Mean binary log loss of a predictions file, computed the ways a user might without bce.

    python benchmarks/peers.py METHOD FILE [--label label] [--prob prob] [--by segment]
                               [--out OUT.parquet]

FILE is .csv, .parquet, JSON Lines (.jsonl/.ndjson: DuckDB's read_json, polars'
scan_ndjson) or Arrow IPC (.arrow/.feather/.ipc: polars' scan_ipc; DuckDB scans the file
as pyarrow memory-maps it); the other methods read it as CSV and fail. Prints
mean(-(y ln p + (1 - y) ln(1 - p))) with p clipped to [eps, 1 - eps], eps = float64
machine epsilon (bce's and scikit-learn's default), as a repr so it keeps all 17 digits
for the checks.
Each method imports only what it needs, so a whole-process timing includes that
method's own start-up, as a user's script would pay it.

The ``-by`` methods are the peers of ``bce score FILE --by COL``: the same mean per
group of ``--by``, printed as a JSON object {group: loss}. The ``-rows`` methods are the
peers of ``bce rows FILE -o OUT.parquet``: every column of FILE and the row's loss as
``log_loss``, written to ``--out``; they print the rows written. ``parquet-mean`` reads
such a file back and prints the mean of its ``log_loss`` (the benchmark's check).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

EPS = 2.220446049250313e-16  # numpy.finfo(numpy.float64).eps, bce's default
BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class Args:
    """What a method is told: the file and the columns, ``by`` and ``out`` where used."""

    path: str
    label: str = "label"
    prob: str = "prob"
    by: str = "segment"
    out: str = ""


Method = Callable[[Args], float | int | dict[str, float]]


def is_parquet(path: str) -> bool:
    return path.endswith((".parquet", ".pq"))


def batch_loss_sum(y: Any, p: Any) -> float:
    """Sum of the per-row losses of one batch of numpy arrays (one log per row)."""
    import numpy as np

    p = np.clip(p.astype(np.float64), EPS, 1.0 - EPS)
    return float(-np.log(np.where(y == 1, p, 1.0 - p)).sum())


def mean_over_batches(batches: Iterable[tuple[Any, Any]]) -> float:
    total, rows = 0.0, 0
    for y, p in batches:
        total += batch_loss_sum(y, p)
        rows += len(y)
    return total / rows


def m_pandas(a: Args) -> float:
    """CSV: read_csv(usecols, chunksize=1M) with the C parser. Parquet: read_parquet(columns)."""
    import pandas as pd

    path, label, prob = a.path, a.label, a.prob
    if is_parquet(path):
        frames: Iterable[pd.DataFrame] = [pd.read_parquet(path, columns=[label, prob])]
    else:
        frames = pd.read_csv(path, usecols=[label, prob], chunksize=BATCH_ROWS)
    return mean_over_batches((f[label].to_numpy(), f[prob].to_numpy()) for f in frames)


def m_sklearn(a: Args) -> float:
    """The textbook way: a whole-file pandas read, then sklearn.metrics.log_loss."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import log_loss

    path, label, prob = a.path, a.label, a.prob
    if is_parquet(path):
        df = pd.read_parquet(path, columns=[label, prob])
    else:
        df = pd.read_csv(path, usecols=[label, prob])
    # sklearn clips at the dtype's eps too; clipping here keeps that explicit.
    p = np.clip(df[prob].to_numpy(dtype=np.float64), EPS, 1.0 - EPS)
    return float(log_loss(df[label].to_numpy(), p, labels=[0, 1]))


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_jsonl(path: str) -> bool:
    return path.endswith((".jsonl", ".ndjson"))


def is_arrow(path: str) -> bool:
    return path.endswith((".arrow", ".feather", ".ipc", ".arrows"))


def duckdb_source(path: str) -> str:
    """The FROM clause: DuckDB's own reader, or for Arrow IPC (which DuckDB does not read
    without an extension) ``ipc_table``, the file memory-mapped by pyarrow, which DuckDB
    scans in place (its replacement scan of a Python variable)."""
    if is_arrow(path):
        return "ipc_table"
    reader = "read_parquet" if is_parquet(path) else "read_json" if is_jsonl(path) else "read_csv"
    return f"{reader}({sql_string(path)})"


def duckdb_connection(path: str) -> Any:
    """A connection that sees the Arrow IPC file as ``ipc_table`` where FILE is one."""
    import duckdb

    connection = duckdb.connect()
    if is_arrow(path):
        import pyarrow as pa
        import pyarrow.ipc

        # The map stays open as long as the table's buffers point into it.
        table = pyarrow.ipc.open_file(pa.memory_map(path)).read_all()
        connection.register("ipc_table", table)
    return connection


def duckdb_loss(label: str, prob: str) -> str:
    """One row's loss as a DuckDB SQL expression."""
    y = f"CAST({sql_ident(label)} AS DOUBLE)"
    p = f"least(greatest(CAST({sql_ident(prob)} AS DOUBLE), {EPS!r}), {1.0 - EPS!r})"
    return f"-({y} * ln({p}) + (1 - {y}) * ln(1 - {p}))"


def m_duckdb(a: Args) -> float:
    """DuckDB SQL straight over the file (parallel scan, all cores)."""
    query = f"SELECT avg({duckdb_loss(a.label, a.prob)}) FROM {duckdb_source(a.path)}"
    row = duckdb_connection(a.path).execute(query).fetchone()
    assert row is not None
    return float(row[0])


def m_duckdb_by(a: Args) -> dict[str, float]:
    """DuckDB: the same mean per group (GROUP BY), all cores."""
    import duckdb

    group = sql_ident(a.by)
    query = (
        f"SELECT CAST({group} AS VARCHAR), avg({duckdb_loss(a.label, a.prob)}) "
        f"FROM {duckdb_source(a.path)} GROUP BY {group}"
    )
    return {str(key): float(loss) for key, loss in duckdb.connect().execute(query).fetchall()}


def m_duckdb_rows(a: Args) -> int:
    """DuckDB: COPY (SELECT *, loss AS log_loss FROM FILE) TO OUT (Parquet)."""
    import duckdb

    query = (
        f"COPY (SELECT *, {duckdb_loss(a.label, a.prob)} AS log_loss "
        f"FROM {duckdb_source(a.path)}) TO {sql_string(a.out)} (FORMAT parquet)"
    )
    row = duckdb.connect().execute(query).fetchone()
    assert row is not None
    return int(row[0])


def polars_frame(path: str) -> Any:
    import polars as pl

    if is_jsonl(path):
        return pl.scan_ndjson(path)
    if is_arrow(path):
        return pl.scan_ipc(path)
    return pl.scan_parquet(path) if is_parquet(path) else pl.scan_csv(path)


def polars_loss(label: str, prob: str) -> Any:
    """One row's loss as a polars expression."""
    import polars as pl

    y = pl.col(label).cast(pl.Float64)
    p = pl.col(prob).cast(pl.Float64).clip(EPS, 1.0 - EPS)
    return -(y * p.log() + (1.0 - y) * (1.0 - p).log())


def m_polars(a: Args) -> float:
    """polars lazy scan with the streaming engine (bounded memory, all cores)."""
    loss = polars_loss(a.label, a.prob)
    result = polars_frame(a.path).select(loss.mean().alias("loss")).collect(engine="streaming")
    return float(result["loss"][0])


def m_polars_by(a: Args) -> dict[str, float]:
    """polars: group_by(...).agg(loss.mean()), streaming engine."""
    import polars as pl

    loss = polars_loss(a.label, a.prob).mean().alias("loss")
    key = pl.col(a.by).cast(pl.String)
    result = polars_frame(a.path).group_by(key).agg(loss).collect(engine="streaming")
    return {str(k): float(v) for k, v in zip(result[a.by], result["loss"])}


def m_polars_rows(a: Args) -> int:
    """polars: with_columns(loss.alias("log_loss")).sink_parquet(OUT), streaming."""
    import pyarrow.parquet as pq

    frame = polars_frame(a.path).with_columns(polars_loss(a.label, a.prob).alias("log_loss"))
    frame.sink_parquet(a.out)
    return int(pq.ParquetFile(a.out).metadata.num_rows)


def m_parquet_mean(a: Args) -> float:
    """Not a peer: the mean of the log_loss column of a Parquet file (the rows' check)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    column = pq.read_table(a.path, columns=["log_loss"]).column("log_loss")
    return float(pc.mean(column).as_py())


def m_arrow(a: Args) -> float:
    """Extra, not run by default: pyarrow's single-threaded streaming reader + numpy,
    the floor SPEC section 8 quotes (the same design as a single-stream bce)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    path, label, prob = a.path, a.label, a.prob
    batches: Iterable[pa.RecordBatch]
    if is_parquet(path):
        batches = pq.ParquetFile(path).iter_batches(BATCH_ROWS, columns=[label, prob])
    else:
        types = {label: pa.int64(), prob: pa.float64()}
        convert = pcsv.ConvertOptions(include_columns=[label, prob], column_types=types)
        batches = pcsv.open_csv(path, convert_options=convert)
    return mean_over_batches(
        (b.column(label).to_numpy(), b.column(prob).to_numpy()) for b in batches
    )


METHODS: dict[str, Method] = {
    "pandas": m_pandas,
    "sklearn": m_sklearn,
    "duckdb": m_duckdb,
    "polars": m_polars,
    "arrow": m_arrow,
    "duckdb-by": m_duckdb_by,
    "polars-by": m_polars_by,
    "duckdb-rows": m_duckdb_rows,
    "polars-rows": m_polars_rows,
    "parquet-mean": m_parquet_mean,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("file")
    parser.add_argument("--label", default="label")
    parser.add_argument("--prob", default="prob")
    parser.add_argument("--by", default="segment", help="the -by methods' group column")
    parser.add_argument("--out", help="the Parquet file the -rows methods write")
    args = parser.parse_args(argv)
    if args.method.endswith("-rows") and not args.out:
        parser.error(f"{args.method} needs --out")
    value = METHODS[args.method](Args(args.file, args.label, args.prob, args.by, args.out or ""))
    print(json.dumps(value, sort_keys=True) if isinstance(value, dict) else repr(value))


if __name__ == "__main__":
    main()
