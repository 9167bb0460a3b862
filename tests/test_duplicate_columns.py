"""Repeated column names, as ``pandas.concat(axis=1)`` and pyarrow write them.

A column bce must use that appears more than once is an error in every format (exit 2,
one sentence naming the file, the column and its positions); repeats among the other
columns are fine, and ``bce rows`` writes the header back exactly as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import log_loss

import bcecli
from bcecli.errors import ColumnError

from conftest import bce_process

Y = [1, 0, 1, 0, 1, 1]
P = [0.9, 0.2, 0.6, 0.4, 0.7, 0.35]
Q = [0.1, 0.8, 0.4, 0.6, 0.3, 0.65]
NOTE = ["a", "b", "c", "d", "e", "f"]
OTHER = ["u", "v", "w", "x", "y", "z"]
EXPECTED = log_loss(Y, P, labels=[0, 1])


def _frame(names: list[str], columns: list[list[Any]]) -> pd.DataFrame:
    """Columns side by side, as pandas.concat(axis=1) makes them (names may repeat)."""
    return pd.concat([pd.Series(values, name=name) for name, values in zip(names, columns)], axis=1)


def _csv(path: Path, names: list[str], columns: list[list[Any]]) -> Path:
    _frame(names, columns).to_csv(path, index=False)
    return path


def _parquet(path: Path, names: list[str], columns: list[list[Any]]) -> Path:
    # pandas refuses to write repeated names to Parquet; pyarrow writes them.
    pq.write_table(pa.table([pa.array(c) for c in columns], names=names), path)
    return path


WRITERS = {"csv": _csv, "parquet": _parquet}


def _refused(run: Any, path: Path, name: str, positions: str) -> None:
    assert run.exit_code == 2, run.stderr
    assert run.stdout == ""
    message = run.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert str(path) in message and f"named {name!r}" in message
    assert f"(columns {positions})" in message and "rename one of them" in message


# -- a repeated column bce must use is an error --------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("command", ["score", "rows"])
@pytest.mark.parametrize("args", [[], ["-p", "prob"], ["-y", "label", "-p", "PROB"]])
def test_a_repeated_prediction_column_is_refused(
    bce: Any, tmp_path: Path, fmt: str, command: str, args: list[str]
) -> None:
    path = WRITERS[fmt](tmp_path / f"preds.{fmt}", ["label", "prob", "prob"], [Y, P, Q])
    _refused(bce(command, path, *args), path, "prob", "2 and 3")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("names", "args", "name", "positions"),
    [
        (["label", "prob", "label"], [], "label", "1 and 3"),
        (["y", "prob", "y"], ["-y", "y"], "y", "1 and 3"),
        (["label", "logit", "logit"], ["--logit", "logit"], "logit", "2 and 3"),
        (["label", "prob", "w", "w"], ["-w", "w"], "w", "3 and 4"),
        (["label", "prob", "g", "g"], ["--by", "g"], "g", "3 and 4"),
        (["label", "prob", "id", "id"], ["--worst", "2", "--keep", "id"], "id", "3 and 4"),
        (["prob", "label", "prob", "prob"], [], "prob", "1, 3 and 4"),
    ],
)
def test_every_column_bce_uses_must_be_unique(
    bce: Any,
    tmp_path: Path,
    fmt: str,
    names: list[str],
    args: list[str],
    name: str,
    positions: str,
) -> None:
    columns = {"label": Y, "y": Y, "prob": P, "logit": Q, "w": P, "g": NOTE, "id": OTHER}
    data = [columns[n] for n in names]
    path = WRITERS[fmt](tmp_path / f"preds.{fmt}", names, data)
    _refused(bce("score", path, *args), path, name, positions)


def test_rows_keep_of_a_repeated_column_is_refused(bce: Any, tmp_path: Path) -> None:
    path = _csv(tmp_path / "preds.csv", ["label", "prob", "id", "id"], [Y, P, NOTE, OTHER])
    _refused(bce("rows", path, "--keep", "id"), path, "id", "3 and 4")


def test_a_repeated_column_on_standard_input_is_refused(tmp_path: Path) -> None:
    data = _csv(tmp_path / "preds.csv", ["label", "prob", "prob"], [Y, P, Q]).read_bytes()
    for command in ("score", "rows"):
        done = bce_process(command, "-", input=data)
        stderr = done.stderr.decode()
        assert done.returncode == 2, stderr
        assert "standard input has 2 columns named 'prob' (columns 2 and 3)" in stderr
        assert "Traceback" not in stderr and done.stdout == b""


def test_parquet_on_standard_input_too(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "preds.parquet", ["label", "prob", "prob"], [Y, P, Q])
    done = bce_process(
        "score", "-", "--input-format", "parquet", "-p", "prob", input=path.read_bytes()
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "standard input has 2 columns named 'prob' (columns 2 and 3)" in stderr
    assert "Traceback" not in stderr


def test_the_header_is_not_renamed_so_prob_1_is_not_a_column(bce: Any, tmp_path: Path) -> None:
    path = _csv(tmp_path / "preds.csv", ["label", "prob", "prob"], [Y, P, Q])
    run = bce("score", path, "-p", "prob.1")
    assert run.exit_code == 2 and "has no column 'prob.1'" in run.stderr


def test_autodetection_never_picks_a_repeated_name(bce: Any, tmp_path: Path) -> None:
    # Two columns called "score" and one "label": neither score column is picked.
    path = _csv(tmp_path / "preds.csv", ["label", "score", "score"], [Y, P, Q])
    _refused(bce("score", path), path, "score", "2 and 3")


def test_the_api_refuses_a_dataframe_with_a_repeated_column() -> None:
    frame = _frame(["label", "prob", "prob"], [Y, P, Q])
    with pytest.raises(ColumnError, match=r"2 columns named 'prob' \(columns 2 and 3\)"):
        bcecli.score(frame)
    with pytest.raises(ColumnError, match=r"2 columns named 'prob' \(columns 2 and 3\)"):
        bcecli.row_losses(frame, prob="prob")
    table = pa.table([pa.array(Y), pa.array(P), pa.array(Q)], names=["label", "prob", "prob"])
    with pytest.raises(ColumnError, match=r"2 columns named 'prob'"):
        bcecli.score(table, prob="prob")


def test_the_api_refuses_a_file_with_a_repeated_column(tmp_path: Path) -> None:
    for fmt, write in WRITERS.items():
        path = write(tmp_path / f"preds.{fmt}", ["label", "prob", "prob"], [Y, P, Q])
        with pytest.raises(ColumnError, match=r"named 'prob' \(columns 2 and 3\)"):
            bcecli.score(path)
        with pytest.raises(ColumnError, match=r"named 'prob' \(columns 2 and 3\)"):
            bcecli.row_losses(path)


# -- repeats among the other columns are fine ---------------------------------------

UNUSED = ["label", "note", "prob", "note", "prob_b"]
UNUSED_DATA = [Y, NOTE, P, OTHER, Q]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_repeats_among_unused_columns_are_scored(bce: Any, tmp_path: Path, fmt: str) -> None:
    path = WRITERS[fmt](tmp_path / f"preds.{fmt}", UNUSED, UNUSED_DATA)
    run = bce("score", path, "-p", "prob", "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["metrics"]["log_loss"] == pytest.approx(EXPECTED, rel=1e-12)
    assert bcecli.score(path, prob="prob").metrics["log_loss"] == pytest.approx(EXPECTED)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(("out", "sep"), [("out.csv", ","), ("out.tsv", "\t"), ("-", ",")])
def test_rows_writes_the_header_back_as_it_was(
    bce: Any, tmp_path: Path, fmt: str, out: str, sep: str
) -> None:
    path = WRITERS[fmt](tmp_path / f"preds.{fmt}", UNUSED, UNUSED_DATA)
    target = out if out == "-" else str(tmp_path / out)
    run = bce("rows", path, "-p", "prob", "-o", target, "--chunk-size", "4", "-q")
    assert run.exit_code == 0, run.stderr
    text = run.stdout if out == "-" else Path(target).read_text()
    lines = text.splitlines()
    assert lines[0] == sep.join([*UNUSED, "log_loss"])
    assert [line.split(sep)[1] for line in lines[1:]] == NOTE
    assert [line.split(sep)[3] for line in lines[1:]] == OTHER
    losses = [float(line.split(sep)[5]) for line in lines[1:]]
    assert losses == pytest.approx([-np.log(p if y else 1 - p) for y, p in zip(Y, P)])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_to_parquet_keeps_repeated_names(bce: Any, tmp_path: Path, fmt: str) -> None:
    path = WRITERS[fmt](tmp_path / f"preds.{fmt}", UNUSED, UNUSED_DATA)
    out = tmp_path / "out.parquet"
    run = bce("rows", path, "-p", "prob", "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    table = pq.ParquetFile(out).read()  # read_table (datasets) refuses repeated names
    assert table.column_names == [*UNUSED, "log_loss"]
    assert table.column(1).to_pylist() == NOTE and table.column(3).to_pylist() == OTHER


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_to_ndjson_refuses_a_repeated_name(bce: Any, tmp_path: Path, fmt: str) -> None:
    # A JSON object cannot hold one key twice: say so rather than drop a value.
    path = WRITERS[fmt](tmp_path / f"preds.{fmt}", UNUSED, UNUSED_DATA)
    run = bce("rows", path, "-p", "prob", "--output-format", "ndjson")
    assert run.exit_code == 2
    message = run.stderr.strip()
    assert str(path) in message and "named 'note' (columns 2 and 4)" in message
    assert "JSON" in message and "--keep" in message and len(message.splitlines()) == 1
    # --keep leaves the repeat out, and then NDJSON is fine.
    run = bce("rows", path, "-p", "prob", "--keep", "label", "--output-format", "ndjson")
    assert run.exit_code == 0, run.stderr
    assert [json.loads(line)["label"] for line in run.stdout.splitlines()] == Y


def test_rows_on_standard_input_keeps_the_header(tmp_path: Path) -> None:
    data = _csv(tmp_path / "preds.csv", UNUSED, UNUSED_DATA).read_bytes()
    done = bce_process("rows", "-", "-p", "prob", input=data)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[0] == ",".join([*UNUSED, "log_loss"])


def test_row_losses_returns_the_repeated_columns(tmp_path: Path) -> None:
    frame = _frame(UNUSED, UNUSED_DATA)
    result = bcecli.row_losses(frame, prob="prob")
    assert list(result.columns) == [*UNUSED, "log_loss"]
    assert result.iloc[:, 1].tolist() == NOTE and result.iloc[:, 3].tolist() == OTHER
    arrow = pa.table([pa.array(c) for c in UNUSED_DATA], names=UNUSED)
    result_table = bcecli.row_losses(arrow, prob="prob")
    assert result_table.column_names == [*UNUSED, "log_loss"]
    path = _parquet(tmp_path / "preds.parquet", UNUSED, UNUSED_DATA)
    assert bcecli.row_losses(path, prob="prob").column_names == [*UNUSED, "log_loss"]


def test_no_header_reads_parquet_columns_by_position(bce: Any, tmp_path: Path) -> None:
    path = _parquet(tmp_path / "preds.parquet", ["label", "prob", "prob"], [Y, Q, P])
    run = bce("score", path, "--no-header", "-y", "1", "-p", "3", "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["metrics"]["log_loss"] == pytest.approx(EXPECTED, rel=1e-12)
    report = bcecli.score(path, no_header=True, label="1", prob="3")
    assert report.metrics["log_loss"] == pytest.approx(EXPECTED, rel=1e-12)


def test_a_repeat_beside_a_column_named_like_its_key(bce: Any, tmp_path: Path) -> None:
    # pandas would call the second "note" "note.1", which this header already holds.
    names = ["label", "prob", "note", "note", "note.1"]
    path = _csv(tmp_path / "preds.csv", names, [Y, P, NOTE, OTHER, Q])
    run = bce("rows", path, "--chunk-size", "4")
    assert run.exit_code == 0, run.stderr
    lines = [line.split(",") for line in run.stdout.splitlines()]
    assert lines[0] == [*names, "log_loss"]
    assert [row[2] for row in lines[1:]] == NOTE and [row[3] for row in lines[1:]] == OTHER
    assert [float(row[4]) for row in lines[1:]] == Q
    run = bce("score", path, "-p", "note.1", "--format", "json")  # a name of its own
    assert run.exit_code == 0, run.stderr
    assert run.json()["metrics"]["log_loss"] == pytest.approx(log_loss(Y, Q, labels=[0, 1]))
