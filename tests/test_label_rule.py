"""One label rule per column: 0/1, or true/false, or two classes with --pos-label.

The rule comes from the column's first label that is 0, 1, true or false, and holds for
the whole column, across chunks, threads and files; a value outside it (a ``yes`` among
0/1) is an invalid row, never silently mapped. CSV text, Parquet strings, booleans and
numbers are judged alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss

import bcecli
from bcecli.errors import InputError, InvalidRowError

from conftest import bce_process, write_csv

NUMBERS = "is not 0 or 1, the classes of this column (its first valid label is a number)"
BOOLEANS = "is not true or false, the classes of this column (its first valid label is a boolean)"
NEITHER = "is not 0 or 1, nor true or false (pass --pos-label"


def _probs(n: int) -> list[float]:
    return [round(0.05 + 0.9 * ((i * 37) % 101) / 100, 4) for i in range(n)]


def _csv(path: Path, labels: list[Any]) -> Path:
    """Labels as pandas writes an object column of them (Excel and R write the same)."""
    pd.DataFrame({"label": labels, "prob": _probs(len(labels))}).to_csv(path, index=False)
    return path


def _parquet(path: Path, labels: pa.Array, row_group_size: int | None = None) -> Path:
    table = pa.table({"label": labels, "prob": _probs(len(labels))})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def _expected(labels: list[Any], keep: list[int]) -> float:
    """scikit-learn's loss over the rows kept, with their 0/1 values."""
    probs = _probs(len(labels))
    y = [1 if str(labels[i]).strip().lower() in ("1", "1.0", "true") else 0 for i in keep]
    return float(log_loss(y, [probs[i] for i in keep], labels=[0, 1]))


MIXED = ["1", "0", "1", "yes", "0", "1"]  # row 4 is the odd one out


@pytest.mark.parametrize("fmt", ["csv", "parquet", "stdin"])
def test_a_yes_among_0_1_is_an_invalid_row(bce: Any, tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        path = _parquet(tmp_path / "preds.parquet", pa.array(MIXED))
    else:
        path = _csv(tmp_path / "preds.csv", MIXED)
    if fmt == "stdin":
        done = bce_process("score", "-", input=path.read_bytes())
        assert done.returncode == 2
        stderr = done.stderr.decode()
        assert f"standard input row 4: label = 'yes' {NUMBERS}" in stderr
        assert "Traceback" not in stderr
        skipped = bce_process(
            "score", "-", "--on-invalid", "skip", "--format", "json", input=path.read_bytes()
        )
        assert skipped.returncode == 0, skipped.stderr.decode()
        metrics = json.loads(skipped.stdout)["metrics"]
    else:
        run = bce("score", path)
        assert run.exit_code == 2
        assert run.stderr.startswith(f"Error: {path} row 4: label = 'yes' {NUMBERS}.")
        skipped = bce("score", path, "--on-invalid", "skip", "--format", "json")
        assert skipped.exit_code == 0, skipped.stderr
        metrics = skipped.json()["metrics"]
    assert (metrics["rows"], metrics["skipped"]) == (5, 1)
    assert metrics["log_loss"] == pytest.approx(_expected(MIXED, [0, 1, 2, 4, 5]), rel=1e-12)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_and_the_api_apply_the_same_rule(bce: Any, tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        path = _parquet(tmp_path / "preds.parquet", pa.array(MIXED))
    else:
        path = _csv(tmp_path / "preds.csv", MIXED)
    run = bce("rows", path)
    assert run.exit_code == 2 and f"row 4: label = 'yes' {NUMBERS}" in run.stderr
    run = bce("rows", path, "--on-invalid", "skip", "-q")
    assert run.exit_code == 0, run.stderr
    assert [line.split(",")[0] for line in run.stdout.splitlines()[1:]] == ["1", "0", "1", "0", "1"]
    with pytest.raises(
        InvalidRowError, match=re.escape(f"row 4: label = 'yes' {NUMBERS}")
    ) as caught:
        bcecli.score(path)
    assert caught.value.row == 4 and caught.value.column == "label"
    report = bcecli.score(path, on_invalid="skip")
    assert report.metrics["skipped"] == 1
    assert report.metrics["log_loss"] == pytest.approx(_expected(MIXED, [0, 1, 2, 4, 5]))
    assert bcecli.row_losses(path, on_invalid="skip").num_rows == 5


def test_a_dataframe_is_judged_by_the_same_rule() -> None:
    frame = pd.DataFrame({"label": MIXED, "prob": _probs(len(MIXED))})
    with pytest.raises(
        InvalidRowError, match=re.escape(f"<memory> row 4: label = 'yes' {NUMBERS}")
    ):
        bcecli.score(frame)
    assert bcecli.row_losses(frame, on_invalid="skip")["label"].tolist() == [
        "1",
        "0",
        "1",
        "0",
        "1",
    ]
    flags = pd.DataFrame({"label": [True, False, None, True], "prob": _probs(4)})
    report = bcecli.score(flags, on_invalid="skip")
    assert (report.metrics["rows"], report.metrics["skipped"]) == (3, 1)


def test_true_among_0_1_in_one_block_is_not_read_as_1(bce: Any, tmp_path: Path) -> None:
    # pyarrow reads a block of 1, 0 and true as booleans: the true must still stand out.
    labels = ["1", "0", "true", "0"]
    path = _csv(tmp_path / "preds.csv", labels)
    run = bce("score", path)
    assert run.exit_code == 2 and f"row 3: label = 'true' {NUMBERS}" in run.stderr
    run = bce("score", path, "--on-invalid", "skip", "--format", "json")
    assert run.json()["metrics"]["log_loss"] == pytest.approx(_expected(labels, [0, 1, 3]))


def test_a_number_among_true_false_is_an_invalid_row(bce: Any, tmp_path: Path) -> None:
    labels = ["TRUE", "FALSE", "1", "FALSE", "True", "false"]  # R, Excel and pandas spellings
    path = _csv(tmp_path / "preds.csv", labels)
    run = bce("score", path)
    assert run.exit_code == 2 and f"row 3: label = '1' {BOOLEANS}" in run.stderr
    run = bce("score", path, "--on-invalid", "skip", "--format", "json")
    metrics = run.json()["metrics"]
    assert (metrics["rows"], metrics["skipped"]) == (5, 1)
    assert metrics["log_loss"] == pytest.approx(_expected(labels, [0, 1, 3, 4, 5]), rel=1e-12)


def test_the_first_label_that_fits_decides(bce: Any, tmp_path: Path) -> None:
    # Missing and unreadable labels come first; "false" then makes the column true/false.
    labels = [None, "maybe", "false", "1", "true", "0"]
    path = _csv(tmp_path / "preds.csv", labels)
    run = bce("score", path)
    assert run.exit_code == 2 and "row 1: label is missing" in run.stderr
    run = bce("score", path, "--on-invalid", "skip", "--format", "json")
    metrics = run.json()["metrics"]
    assert (metrics["rows"], metrics["skipped"]) == (2, 4)
    assert metrics["log_loss"] == pytest.approx(_expected(labels, [2, 4]), rel=1e-12)


def test_words_outside_both_rules_need_pos_label(bce: Any, tmp_path: Path) -> None:
    labels = ["yes", "no", "no", "yes"]
    path = _csv(tmp_path / "preds.csv", labels)
    run = bce("score", path)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"Error: {path} row 1: label = 'yes' {NEITHER}")
    run = bce("score", path, "--pos-label", "yes", "--format", "json")
    assert run.exit_code == 0, run.stderr
    probs = _probs(4)
    expected = log_loss([1, 0, 0, 1], probs, labels=[0, 1])
    assert run.json()["metrics"]["log_loss"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("first", "second", "row", "problem", "rows"),
    [
        (pa.array([1, 0, 1]), pa.array([True, False]), 1, f"label = True {NUMBERS}", 3),
        (pa.array([True, False, True]), pa.array([1, 0]), 1, f"label = 1 {BOOLEANS}", 3),
        (pa.array([1.0, 0.0, 1.0]), pa.array(["0", "true"]), 2, f"label = 'true' {NUMBERS}", 4),
        (pa.array(["false", "true", "true"]), pa.array([0, 1]), 1, f"label = 0 {BOOLEANS}", 3),
    ],
)
def test_the_rule_holds_across_files(
    bce: Any, tmp_path: Path, first: pa.Array, second: pa.Array, row: int, problem: str, rows: int
) -> None:
    a = _parquet(tmp_path / "a.parquet", first)
    b = _parquet(tmp_path / "b.parquet", second)
    run = bce("score", a, b)
    assert run.exit_code == 2 and f"b.parquet row {row}: {problem}" in run.stderr
    run = bce("score", a, b, "--on-invalid", "skip", "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["metrics"]["rows"] == rows


def test_csv_then_parquet_share_the_rule(bce: Any, tmp_path: Path) -> None:
    a = _csv(tmp_path / "a.csv", ["0", "1", "1"])
    b = _parquet(tmp_path / "b.parquet", pa.array(["1", "yes"]))
    run = bce("score", a, b)
    assert run.exit_code == 2 and f"b.parquet row 2: label = 'yes' {NUMBERS}" in run.stderr


def test_the_rule_does_not_depend_on_chunks_or_threads(bce: Any, tmp_path: Path) -> None:
    # 3000 rows without a label, then "false": every later 0/1 is invalid, in whichever
    # chunk and on whichever thread it is validated.
    rng = np.random.default_rng(3)
    labels: list[Any] = [None] * 3000 + ["false"]
    labels += rng.choice(["0", "1", "true", "false"], 6000).tolist()
    path = _csv(tmp_path / "preds.csv", labels)
    reports = []
    for size in (1, 7, 512, 100_000):
        run = bce("score", path, "--on-invalid", "skip", "--chunk-size", size, "--format", "json")
        assert run.exit_code == 0, run.stderr
        document = run.json()
        del document["settings"]["chunk_size"]
        reports.append(document)
    assert all(report == reports[0] for report in reports)
    keep = [i for i, label in enumerate(labels) if label in ("true", "false")]
    metrics = reports[0]["metrics"]
    assert metrics["rows"] == len(keep) and metrics["skipped"] == len(labels) - len(keep)
    assert metrics["log_loss"] == pytest.approx(_expected(labels, keep), rel=1e-12)
    # Without the missing rows, the first 0/1 after "false" is the error, in any chunking.
    labels = labels[3000:]
    path = _csv(tmp_path / "preds.csv", labels)
    first_bad = next(i for i, label in enumerate(labels) if label in ("0", "1"))
    for size in (1, 7, 100_000):
        run = bce("score", path, "--chunk-size", size)
        assert f"row {first_bad + 1}: label = {labels[first_bad]!r} {BOOLEANS}" in run.stderr


# -- the rule against a reference, for any chunking ----------------------------------

SPELLINGS = ["0", "1", "1.0", "0.0", "true", "false", "TRUE", "False", "yes", "2", ""]


def _reference(labels: list[str]) -> tuple[list[int], list[int]]:
    """(valid rows, their y) by the rule: the first 0/1 or true/false label decides."""

    def kind(text: str) -> str | None:
        folded = text.strip().lower()
        if folded in ("0", "1", "0.0", "1.0"):
            return "number"
        return "boolean" if folded in ("true", "false") else None

    rule = next((kind(label) for label in labels if kind(label)), None)
    valid = [i for i, label in enumerate(labels) if rule is not None and kind(label) == rule]
    return valid, [1 if labels[i].strip().lower() in ("1", "1.0", "true") else 0 for i in valid]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    labels=st.lists(st.sampled_from(SPELLINGS), min_size=1, max_size=40),
    chunk_size=st.integers(1, 12),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_any_chunking_follows_the_rule(
    tmp_path_factory: pytest.TempPathFactory, labels: list[str], chunk_size: int, fmt: str
) -> None:
    folder = tmp_path_factory.mktemp("labels")
    if fmt == "csv":
        path = folder / "preds.csv"
        lines = [f"{label},{p}" for label, p in zip(labels, _probs(len(labels)))]
        path.write_text("label,prob\n" + "\n".join(lines) + "\n")
    else:  # text as Parquet stores it, missing ones as nulls, in small row groups
        text = pa.array([label or None for label in labels], pa.string())
        path = _parquet(folder / "preds.parquet", text, row_group_size=max(1, chunk_size // 2))
    valid, y = _reference(labels)
    if not valid:
        with pytest.raises(InputError):
            bcecli.score(path, chunk_size=chunk_size, on_invalid="skip")
        return
    report = bcecli.score(path, chunk_size=chunk_size, on_invalid="skip")
    assert (report.metrics["rows"], report.metrics["skipped"]) == (
        len(valid),
        len(labels) - len(valid),
    )
    probs = _probs(len(labels))
    expected = log_loss(y, [probs[i] for i in valid], labels=[0, 1])
    assert report.metrics["log_loss"] == pytest.approx(expected, rel=1e-12)
    invalid = [i for i in range(len(labels)) if i not in valid]
    if invalid:
        with pytest.raises(InvalidRowError) as caught:
            bcecli.score(path, chunk_size=chunk_size)
        assert caught.value.row == invalid[0] + 1


def test_t_and_f_are_not_boolean_words(bce: Any, tmp_path: Path) -> None:
    # t/f and yes/no are not boolean words (SPEC section 2): they need --pos-label.
    path = write_csv(tmp_path / "tf.csv", "label,prob", ["t,0.9", "f,0.2"])
    run = bce("score", path)
    assert run.exit_code == 2 and f"row 1: label = 't' {NEITHER}" in run.stderr
    assert bce("score", path, "--pos-label", "t").exit_code == 0


CLASSES = ["spam", "ham", "eggs", ""]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    labels=st.lists(st.sampled_from(CLASSES), min_size=1, max_size=40),
    chunk_size=st.integers(1, 12),
)
def test_pos_label_learns_its_other_class_in_row_order(
    tmp_path_factory: pytest.TempPathFactory, labels: list[str], chunk_size: int
) -> None:
    # The negative class is the first label other than --pos-label, in row order, while
    # the chunks are validated on a thread pool.
    path = tmp_path_factory.mktemp("classes") / "preds.csv"
    lines = [f"{label},{p}" for label, p in zip(labels, _probs(len(labels)))]
    path.write_text("label,prob\n" + "\n".join(lines) + "\n")
    other = next((label for label in labels if label not in ("spam", "")), None)
    valid = [i for i, label in enumerate(labels) if label and label in ("spam", other)]
    if not valid:
        with pytest.raises(InputError):
            bcecli.score(path, chunk_size=chunk_size, on_invalid="skip", pos_label="spam")
        return
    report = bcecli.score(path, chunk_size=chunk_size, on_invalid="skip", pos_label="spam")
    assert report.metrics["rows"] == len(valid)
    probs = _probs(len(labels))
    y = [1 if labels[i] == "spam" else 0 for i in valid]
    expected = log_loss(y, [probs[i] for i in valid], labels=[0, 1])
    assert report.metrics["log_loss"] == pytest.approx(expected, rel=1e-12)


BIG = 2**53 + 1  # the first integer float64 cannot hold


@pytest.mark.parametrize("engine_args", [(), ("--pos-label", "spam")], ids=["0/1", "pos-label"])
def test_integers_past_two_to_the_53_are_refused_plainly(
    bce: Any, tmp_path: Path, engine_args: tuple[str, ...]
) -> None:
    # pyarrow's checked cast to float64 raised on them: a traceback instead of a message.
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"label": pa.array([1, BIG], pa.int64()), "prob": [0.5, 0.25]}), path)
    run = bce("score", path, *engine_args)
    assert run.exit_code == 2 and "Traceback" not in run.stderr
    assert f"row 2: label = {BIG}" in run.stderr


def test_an_integer_prediction_past_two_to_the_53_is_outside_the_unit_interval(
    bce: Any, tmp_path: Path
) -> None:
    path = tmp_path / "big_prob.parquet"
    pq.write_table(pa.table({"label": [1, 0], "prob": pa.array([1, BIG], pa.int64())}), path)
    run = bce("score", path)
    assert run.exit_code == 2
    assert f"row 2: prob = {BIG} is outside [0, 1]" in run.stderr
