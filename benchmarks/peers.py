"""Mean binary log loss of a predictions file, computed the ways a user might without bce.

    python benchmarks/peers.py METHOD FILE [--label label] [--prob prob]

FILE is .csv or .parquet. Prints mean(-(y ln p + (1 - y) ln(1 - p))) with p
clipped to [eps, 1 - eps], eps = float64 machine epsilon (bce's and
scikit-learn's default), as a repr so it keeps all 17 digits for the checks.
Each method imports only what it needs, so a whole-process timing includes that
method's own start-up, as a user's script would pay it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

EPS = 2.220446049250313e-16  # numpy.finfo(numpy.float64).eps, bce's default
BATCH_ROWS = 1_000_000

Method = Callable[[str, str, str], float]


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


def m_pandas(path: str, label: str, prob: str) -> float:
    """CSV: read_csv(usecols, chunksize=1M) with the C parser. Parquet: read_parquet(columns)."""
    import pandas as pd

    if is_parquet(path):
        frames: Iterable[pd.DataFrame] = [pd.read_parquet(path, columns=[label, prob])]
    else:
        frames = pd.read_csv(path, usecols=[label, prob], chunksize=BATCH_ROWS)
    return mean_over_batches((f[label].to_numpy(), f[prob].to_numpy()) for f in frames)


def m_sklearn(path: str, label: str, prob: str) -> float:
    """The textbook way: a whole-file pandas read, then sklearn.metrics.log_loss."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import log_loss

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


def m_duckdb(path: str, label: str, prob: str) -> float:
    """DuckDB SQL straight over the file (parallel scan, all cores)."""
    import duckdb

    reader = "read_parquet" if is_parquet(path) else "read_csv"
    y = f"CAST({sql_ident(label)} AS DOUBLE)"
    p = f"least(greatest(CAST({sql_ident(prob)} AS DOUBLE), {EPS!r}), {1.0 - EPS!r})"
    query = (
        f"SELECT avg(-({y} * ln({p}) + (1 - {y}) * ln(1 - {p}))) FROM {reader}({sql_string(path)})"
    )
    row = duckdb.connect().execute(query).fetchone()
    assert row is not None
    return float(row[0])


def m_polars(path: str, label: str, prob: str) -> float:
    """polars lazy scan with the streaming engine (bounded memory, all cores)."""
    import polars as pl

    frame = pl.scan_parquet(path) if is_parquet(path) else pl.scan_csv(path)
    y = pl.col(label).cast(pl.Float64)
    p = pl.col(prob).cast(pl.Float64).clip(EPS, 1.0 - EPS)
    loss = -(y * p.log() + (1.0 - y) * (1.0 - p).log())
    result = frame.select(loss.mean().alias("loss")).collect(engine="streaming")
    return float(result["loss"][0])


def m_arrow(path: str, label: str, prob: str) -> float:
    """Extra, not run by default: pyarrow's single-threaded streaming reader + numpy,
    the floor SPEC section 8 quotes (the same design as a single-stream bce)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

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
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("file")
    parser.add_argument("--label", default="label")
    parser.add_argument("--prob", default="prob")
    args = parser.parse_args(argv)
    print(repr(METHODS[args.method](args.file, args.label, args.prob)))


if __name__ == "__main__":
    main()
