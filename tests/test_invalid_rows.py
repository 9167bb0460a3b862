"""Invalid rows: named exactly (file, 1-based row, column, value) or skipped and counted."""

from __future__ import annotations

import gzip
import io
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import log_loss

from bcecli.io import csv_reader

from conftest import write_csv

N = 2000
BAD_ROW = 1204


def _rows(n: int = N, seed: int = 0) -> tuple[list[int], list[float]]:
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 6)
    return (rng.random(n) < p).astype(int).tolist(), p.tolist()


def _csv_with(path: Path, bad_row: int, value: str = "1.7", n: int = N, seed: int = 0) -> Path:
    y, p = _rows(n, seed)
    lines = [f"{a},{b!r}" for a, b in zip(y, p)]
    lines[bad_row - 1] = f"{y[bad_row - 1]},{value}"
    return write_csv(path, "label,prob", lines)


def _message(run: Any) -> str:
    """The one line bce printed, without its 'Error: ' prefix."""
    assert run.exit_code == 2, run.stdout
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    message: str = lines[0].removeprefix("Error: ")
    return message


@pytest.mark.parametrize("chunk_size", ["7", "1000", "99999"])
def test_error_names_file_row_column_value(bce: Any, tmp_path: Path, chunk_size: str) -> None:
    path = _csv_with(tmp_path / "preds.csv", BAD_ROW)
    message = _message(bce("score", path, "--chunk-size", chunk_size))
    # SPEC section 3's form, then what to do.
    assert message.startswith(f"{path} row {BAD_ROW}: prob = 1.7 is outside [0, 1]. ")
    assert "--on-invalid skip" in message


@pytest.mark.parametrize("chunk_size", ["7", "100000"])
def test_parquet_row_numbers_cross_row_groups(bce: Any, tmp_path: Path, chunk_size: str) -> None:
    y, p = _rows()
    p[BAD_ROW - 1] = -0.25
    path = tmp_path / "preds.parquet"
    pq.write_table(pa.table({"label": y, "prob": p}), path, row_group_size=300)
    message = _message(bce("score", path, "--chunk-size", chunk_size))
    assert message.startswith(f"{path} row {BAD_ROW}: prob = -0.25 is outside [0, 1].")


@pytest.mark.parametrize("second", ["csv", "parquet"])
def test_row_numbers_restart_in_each_file(bce: Any, tmp_path: Path, second: str) -> None:
    first = _csv_with(tmp_path / "a.csv", 3, value="0.5")  # valid: 0.5 is fine
    if second == "csv":
        other = _csv_with(tmp_path / "b.csv", 5, value="nan", n=10, seed=1)
        expected = f"{other} row 5: prob = NaN is outside [0, 1]."
    else:
        y, p = _rows(10, 1)
        labels: list[int | None] = list(y)
        labels[4] = None
        other = tmp_path / "b.parquet"
        pq.write_table(pa.table({"label": pa.array(labels, pa.int64()), "prob": p}), other)
        expected = f"{other} row 5: label is missing."
    for chunk_size in ("7", "100000"):
        message = _message(bce("score", first, other, "--chunk-size", chunk_size))
        assert message.startswith(expected)


def test_dataset_error_names_the_part_file(bce: Any, tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    for index, segment in enumerate("ab"):
        y, p = _rows(50, index)
        if segment == "b":
            p[33] = 2.0
        (root / f"segment={segment}").mkdir(parents=True)
        pq.write_table(pa.table({"label": y, "prob": p}), root / f"segment={segment}/part.parquet")
    message = _message(bce("score", root, "--chunk-size", "7"))
    assert message.startswith(f"{root / 'segment=b/part.parquet'} row 34: prob = 2.0 is outside")


@pytest.mark.parametrize("block_bytes", [64, 4096])
@pytest.mark.parametrize("chunk_size", ["7", "100000"])
@pytest.mark.parametrize("how", ["file", "gzip", "stdin"])
def test_row_numbers_across_byte_blocks(
    bce: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    block_bytes: int,
    chunk_size: str,
    how: str,
) -> None:
    # CSV is parsed in blocks cut at line ends (64 KiB at least); pin them small so
    # this 20 KB file spans several (or hundreds), and some lines outgrow a 64-byte block.
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (block_bytes, block_bytes))
    path = _csv_with(tmp_path / "preds.csv", BAD_ROW, value="x7")
    assert path.stat().st_size > 4 * block_bytes
    if how == "gzip":
        packed = tmp_path / "preds.csv.gz"
        packed.write_bytes(gzip.compress(path.read_bytes()))
        path = packed
    if how == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
        run = bce("score", "-", "--chunk-size", chunk_size)
        name = "standard input"
    else:
        run = bce("score", path, "--chunk-size", chunk_size)
        name = str(path)
    assert _message(run).startswith(f"{name} row {BAD_ROW}: prob = 'x7' is not a number.")


def test_blocks_do_not_change_the_result(
    bce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv_with(tmp_path / "preds.csv", BAD_ROW, value="0.5")
    whole = bce("score", path, "--format", "json").json()["metrics"]
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (100, 100))
    assert bce("score", path, "--format", "json").json()["metrics"] == whole


def test_malformed_line_far_into_the_file(
    bce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_reader, "BLOCK_RANGE", (1000, 1000))
    path = _csv_with(tmp_path / "preds.csv", BAD_ROW, value="0.5,extra")
    message = _message(bce("score", path, "--on-invalid", "skip"))
    assert message.startswith(f"{path} row {BAD_ROW}: expected 2 fields as in the header, found 3")
    assert "delimiter" in message


def test_skip_counts_per_input_and_in_total(bce: Any, tmp_path: Path) -> None:
    y, p = _rows(40, 3)
    w = np.round(np.random.default_rng(4).random(40) + 0.5, 3).tolist()
    cells = [[str(a), repr(b), repr(c)] for a, b, c in zip(y, p, w)]
    bad = {2: (1, "1.5"), 5: (1, "NaN"), 9: (0, ""), 11: (0, "2"), 17: (2, "-1"), 30: (1, "abc")}
    for row, (column, value) in bad.items():
        cells[row - 1][column] = value
    first = write_csv(tmp_path / "a.csv", "label,prob,weight", [",".join(c) for c in cells])
    second = write_csv(tmp_path / "b.csv", "label,prob,weight", ["1,0.25,1", "0,7,1", "0,0.5,0"])

    run = bce("score", first, second, "-w", "weight", "--on-invalid", "skip", "--format", "json")
    assert run.exit_code == 0, run.stderr
    document = run.json()
    assert document["inputs"] == [
        {"path": str(first), "format": "csv", "rows": 34, "skipped": 6},
        {"path": str(second), "format": "csv", "rows": 2, "skipped": 1},
    ]
    assert document["metrics"]["skipped"] == 7
    assert document["settings"]["on_invalid"] == "skip"
    keep = [i for i in range(40) if i + 1 not in bad]
    ys = [y[i] for i in keep] + [1, 0]
    ps = [p[i] for i in keep] + [0.25, 0.5]
    ws = [w[i] for i in keep] + [1.0, 0.0]
    expected = log_loss(ys, ps, sample_weight=ws, labels=[0, 1])
    assert document["metrics"]["rows"] == 36
    assert document["metrics"]["log_loss"] == pytest.approx(expected, rel=1e-12)
    # The table says so too.
    table = bce("score", first, second, "-w", "weight", "--on-invalid", "skip")
    assert table.exit_code == 0 and re.search(r"skipped \(invalid\)\s+7", table.stdout)


@pytest.mark.parametrize(
    ("header", "row", "args", "problem"),
    [
        ("label,prob", "1,1.7", [], "prob = 1.7 is outside [0, 1]"),
        ("label,prob", "1,-0.0001", [], "prob = -0.0001 is outside [0, 1]"),
        ("label,prob", "1,nan", [], "prob = NaN is outside [0, 1]"),
        ("label,prob", "1,", [], "prob is missing"),
        ("label,prob", "1,abc", [], "prob = 'abc' is not a number"),
        ("label,prob", "2,0.5", [], "label = 2 is not 0 or 1"),
        ("label,prob", ",0.5", [], "label is missing"),
        ("label,prob", "maybe,0.5", [], "label = 'maybe' is not 0 or 1"),
        ("label,prob", "bird,0.5", ["--pos-label", "cat"], "label = 'bird' is not 'cat' or 'dog'"),
        ("label,logit", "1,inf", ["--logit", "logit"], "logit = inf is not finite"),
        ("label,logit", "1,", ["--logit", "logit"], "logit is missing"),
        ("label,prob,w", "1,0.5,-1", ["-w", "w"], "w = -1.0 is negative"),
        ("label,prob,w", "1,0.5,", ["-w", "w"], "w is missing"),
        ("label,prob,w", "1,0.5,inf", ["-w", "w"], "w = inf is not finite"),
    ],
)
def test_each_problem_is_named(
    bce: Any, tmp_path: Path, header: str, row: str, args: list[str], problem: str
) -> None:
    first = "cat,0.5" if "--pos-label" in args else "1,0.5"
    second = "dog,0.5" if "--pos-label" in args else "0,0.5"
    if header.endswith(",w"):
        first, second = first + ",1", second + ",1"
    path = write_csv(tmp_path / "bad.csv", header, [first, second, row])
    assert _message(bce("score", path, *args)).startswith(f"{path} row 3: {problem}")
    skipped = bce("score", path, *args, "--on-invalid", "skip", "--format", "json")
    assert skipped.exit_code == 0, skipped.stderr
    assert skipped.json()["metrics"]["skipped"] == 1


def test_a_long_value_is_shortened(bce: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", "label,prob", ["1,0.5", "0," + "z" * 5000])
    message = _message(bce("score", path))
    assert message.startswith(f"{path} row 2: prob = '{'z' * 60}...' is not a number.")
    assert len(message) < 300


@pytest.mark.parametrize(
    ("rows", "args", "says"),
    [
        ([], [], "no data rows to score"),
        (["1,2", "0,-1", "x,0.5"], ["--on-invalid", "skip"], "all 3 rows are invalid"),
        (["1,0.5,0", "0,0.5,0"], ["-w", "w"], "every weight is zero"),
    ],
)
def test_nothing_to_score_is_an_error_not_nan(
    bce: Any, tmp_path: Path, rows: list[str], args: list[str], says: str
) -> None:
    header = "label,prob,w" if "-w" in args else "label,prob"
    path = write_csv(tmp_path / "nothing.csv", header, rows)
    message = _message(bce("score", path, *args, "--format", "json"))
    assert message.startswith(f"{path}: ") and says in message


def test_standard_input_is_named_plainly(bce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"label,prob\n1,0.5\n0,1.5\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert _message(bce("score")).startswith("standard input row 2: prob = 1.5 is outside")
