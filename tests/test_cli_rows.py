"""`bce rows` (SPEC section 5): columns, --keep, output files, the partial-file guarantee."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import CORPUS, SAMPLE, write_csv

PREDS = SAMPLE / "preds.csv"
PREDS_COLUMNS = ["id", "label", "prob", "segment", "model_b", "weight"]


def read_rows(path: Path) -> pa.Table:
    """Read back any output bce rows writes, as an Arrow table."""
    name = path.name
    if name.endswith((".parquet", ".pq")):
        return pq.read_table(path)
    opener: Any = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as stream:
        text = stream.read()
    if ".ndjson" in name or ".jsonl" in name:
        return ndjson_table(text)
    delimiter = "\t" if ".tsv" in name else ","
    return csv_table(text, delimiter)


def csv_table(text: str, delimiter: str = ",") -> pa.Table:
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header, body = records[0], records[1:]
    # Text columns as read, but the losses as numbers, as the other formats give them.
    columns: dict[str, list[Any]] = {
        name: [row[i] for row in body] for i, name in enumerate(header)
    }
    columns["log_loss"] = [float(v) for v in columns["log_loss"]]
    return pa.table(columns)


def ndjson_table(text: str) -> pa.Table:
    lines = text.splitlines()
    assert lines, "no NDJSON lines"
    return pa.Table.from_pylist([json.loads(line, parse_constant=_no_constant) for line in lines])


def _no_constant(name: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {name}")


def exact_mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def score_json(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    document: dict[str, Any] = run.json()
    return document


# -- columns and order ---------------------------------------------------------------


def test_rows_appends_log_loss_after_the_input_columns_in_input_order(bce: Any) -> None:
    run = bce("rows", PREDS)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    table = csv_table(run.stdout)
    assert table.column_names == [*PREDS_COLUMNS, "log_loss"]
    assert table.num_rows == 10_000
    assert table.column("id").to_pylist() == [str(i) for i in range(1, 10_001)]
    # Plain text stays unquoted, for cut and sort.
    assert run.stdout.splitlines()[0] == ",".join([*PREDS_COLUMNS, "log_loss"])
    assert run.stdout.splitlines()[1].startswith("1,0,0.777703,web,")


def test_rows_keep_writes_only_those_columns_and_log_loss(bce: Any) -> None:
    run = bce("rows", PREDS, "--keep", "segment,id")
    assert run.exit_code == 0, run.stderr
    assert csv_table(run.stdout).column_names == ["segment", "id", "log_loss"]
    # Repeatable, case-insensitive like every column option, duplicates once.
    run = bce("rows", PREDS, "--keep", "ID", "--keep", "weight,id")
    assert run.exit_code == 0, run.stderr
    assert csv_table(run.stdout).column_names == ["id", "weight", "log_loss"]


def test_rows_keep_unknown_column_suggests_a_close_match(bce: Any) -> None:
    run = bce("rows", PREDS, "--keep", "segmnt")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "'segmnt'" in run.stderr and "Did you mean 'segment'?" in run.stderr
    assert "Traceback" not in run.stderr


def test_rows_shares_column_detection_errors_with_score(bce: Any) -> None:
    rows = bce("rows", CORPUS / "ambiguous.csv")
    score = bce("score", CORPUS / "ambiguous.csv")
    assert rows.exit_code == score.exit_code == 2
    assert rows.stderr == score.stderr


def test_rows_with_several_prob_columns_names_each_loss(bce: Any) -> None:
    run = bce("rows", PREDS, "-p", "prob", "-p", "model_b", "--keep", "id")
    assert run.exit_code == 0, run.stderr
    header = run.stdout.splitlines()[0]
    assert header == "id,log_loss_prob,log_loss_model_b"


def test_rows_replaces_an_input_log_loss_column(bce: Any, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    assert bce("rows", PREDS, "-o", first).exit_code == 0
    run = bce("rows", first)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines()[0] == ",".join([*PREDS_COLUMNS, "log_loss"])


def test_rows_of_several_files_need_the_same_columns(bce: Any, tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", "label,prob,x", ["1,0.9,a", "0,0.2,b"])
    b = write_csv(tmp_path / "b.csv", "label,prob", ["1,0.8"])
    c = write_csv(tmp_path / "c.csv", "y,p,x", ["1,0.8,c"])
    run = bce("rows", a, a, "--keep", "x")
    assert run.exit_code == 0, run.stderr
    rows = [f"a,{-math.log(0.9)!r}", f"b,{-math.log1p(-0.2)!r}"]
    assert run.stdout.splitlines() == ["x,log_loss", *rows, *rows]
    for other in (b, c):
        run = bce("rows", a, other)
        assert run.exit_code == 2
        assert str(other) in run.stderr and "Traceback" not in run.stderr


# -- the number ----------------------------------------------------------------------


def test_rows_mean_equals_score_and_sklearn(bce: Any, tmp_path: Path) -> None:
    from sklearn.metrics import log_loss

    out = tmp_path / "losses.parquet"
    run = bce("rows", PREDS, "-o", out)
    assert run.exit_code == 0, run.stderr
    table = pq.read_table(out)
    mean = exact_mean(table.column("log_loss").to_pylist())
    expected = score_json(bce, PREDS)["metrics"]["log_loss"]
    assert mean == pytest.approx(expected, rel=1e-12)
    sklearn = log_loss(
        table.column("label").to_numpy(), table.column("prob").to_numpy(), labels=[0, 1]
    )
    assert mean == pytest.approx(sklearn, rel=1e-12)


def test_rows_weighted_mean_equals_score(bce: Any, tmp_path: Path) -> None:
    out = tmp_path / "losses.parquet"
    assert bce("rows", PREDS, "-w", "weight", "-o", out).exit_code == 0
    table = pq.read_table(out)
    weights = table.column("weight").to_pylist()
    losses = table.column("log_loss").to_pylist()
    mean = math.fsum(w * v for w, v in zip(weights, losses)) / math.fsum(weights)
    expected = score_json(bce, PREDS, "-w", "weight")["metrics"]["log_loss"]
    assert mean == pytest.approx(expected, rel=1e-12)


def test_rows_logits_agree_with_score(bce: Any) -> None:
    run = bce("rows", CORPUS / "logits.csv", "--logit", "logit", "--output-format", "ndjson")
    assert run.exit_code == 0, run.stderr
    losses = [json.loads(line)["log_loss"] for line in run.stdout.splitlines()]
    assert all(math.isfinite(v) for v in losses)
    expected = score_json(bce, CORPUS / "logits.csv", "--logit", "logit")["metrics"]["log_loss"]
    assert exact_mean(losses) == pytest.approx(expected, rel=1e-12)


# -- output files --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["out.csv", "out.tsv", "out.parquet", "out.pq", "out.ndjson", "out.jsonl", "out.csv.gz"],
)
def test_rows_output_file_by_extension(bce: Any, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    run = bce("rows", PREDS, "--keep", "id,label,prob", "-o", out)
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert run.stderr == f"Wrote 10,000 rows to {out}.\n"
    table = read_rows(out)
    assert table.column_names == ["id", "label", "prob", "log_loss"]
    assert table.num_rows == 10_000
    assert [str(v) for v in table.column("id").to_pylist()[:3]] == ["1", "2", "3"]
    expected = score_json(bce, PREDS)["metrics"]["log_loss"]
    assert exact_mean(table.column("log_loss").to_pylist()) == pytest.approx(expected, rel=1e-12)
    assert sorted(os.listdir(tmp_path)) == [name]


def test_rows_output_format_overrides_the_extension(bce: Any, tmp_path: Path) -> None:
    out = tmp_path / "losses.txt"
    assert bce("rows", PREDS, "-o", out, "--output-format", "ndjson", "-q").exit_code == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["id"] == 1 and first["segment"] == "web"


def test_rows_parquet_keeps_types(bce: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    assert bce("rows", SAMPLE / "preds.parquet", "-o", out).exit_code == 0
    source = pq.read_schema(SAMPLE / "preds.parquet")
    written = pq.read_schema(out)
    assert written.names == [*source.names, "log_loss"]
    for field in source:
        assert written.field(field.name).type == field.type
    assert written.field("log_loss").type == pa.float64()


def test_rows_output_replacing_a_file_keeps_its_permissions(bce: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    assert bce("rows", PREDS, "-o", out, "-q").exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_text().startswith("id,label")


def test_rows_output_to_a_fifo_writes_through_it(bce: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    run = bce("rows", PREDS, "--keep", "id", "-o", fifo, "-q")
    reader.join(timeout=30)
    assert run.exit_code == 0, run.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    assert received[0].count(b"\n") == 10_001


def test_rows_parquet_to_stdout_is_a_usage_error(bce: Any) -> None:
    run = bce("rows", PREDS, "--output-format", "parquet")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "-o" in run.stderr and "Traceback" not in run.stderr


def test_rows_unknown_output_extension_is_a_usage_error(bce: Any, tmp_path: Path) -> None:
    run = bce("rows", PREDS, "-o", tmp_path / "out.xlsx")
    assert run.exit_code == 2
    assert "--output-format" in run.stderr
    assert os.listdir(tmp_path) == []


# -- NDJSON --------------------------------------------------------------------------


def test_rows_ndjson_has_numbers_and_nulls_never_nan(bce: Any, tmp_path: Path) -> None:
    data = write_csv(
        tmp_path / "odd.csv",
        "label,prob,extra,note",
        ["1,0.9,NaN,plain", "0,0.2,inf,", '1,0.5,,"say ""hi""\\ok"', "0,0.1,-inf,tab\there"],
    )
    run = bce("rows", data, "--output-format", "ndjson")
    assert run.exit_code == 0, run.stderr
    for token in ("NaN", "Infinity", "nan", "inf"):
        assert token not in run.stdout
    records = [json.loads(line, parse_constant=_no_constant) for line in run.stdout.splitlines()]
    assert [r["extra"] for r in records] == [None, None, None, None]
    assert [r["note"] for r in records] == ["plain", None, 'say "hi"\\ok', "tab\there"]
    assert [r["label"] for r in records] == [1, 0, 1, 0]
    assert records[0]["prob"] == 0.9
    assert all(isinstance(r["log_loss"], float) for r in records)
    assert records[0]["log_loss"] == pytest.approx(-math.log(0.9), rel=1e-15)


def test_rows_ndjson_numbers_stay_numbers_when_a_bad_row_is_skipped(
    bce: Any, tmp_path: Path
) -> None:
    # A value that is not a number makes the reader parse that block's prob as text.
    data = write_csv(tmp_path / "text.csv", "label,prob", ["1,0.9", "0,high", "0,0.25"])
    run = bce("rows", data, "--on-invalid", "skip", "--output-format", "ndjson", "-q")
    assert run.exit_code == 0, run.stderr
    assert [json.loads(line)["prob"] for line in run.stdout.splitlines()] == [0.9, 0.25]
    out = tmp_path / "text.parquet"
    assert bce("rows", data, "--on-invalid", "skip", "-o", out, "-q").exit_code == 0
    assert pq.read_schema(out).field("prob").type == pa.float64()


def test_rows_writes_parquet_types_as_json_and_csv(bce: Any, tmp_path: Path) -> None:
    source = tmp_path / "types.parquet"
    pq.write_table(
        pa.table(
            {
                "label": pa.array([1, 0]),
                "prob": pa.array([0.5, 0.25], pa.float32()),
                "cat": pa.array(["a", "b"]).dictionary_encode(),
                "when": pa.array([1, None], pa.timestamp("s")),
                "values": pa.array([[1.5, float("nan")], None]),
                "ratio": pa.array([float("inf"), 2.0], pa.float16()),
            }
        ),
        source,
    )
    run = bce("rows", source, "--output-format", "ndjson")
    assert run.exit_code == 0, run.stderr
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert (
        first["prob"] == 0.5 and first["cat"] == "a" and first["when"] == "1970-01-01 00:00:01.000"
    )
    assert first["values"] == [1.5, None] and first["ratio"] is None
    assert second["when"] is None and second["values"] is None and second["ratio"] == 2.0
    run = bce("rows", source)
    assert run.exit_code == 0, run.stderr
    row = next(csv.reader(run.stdout.splitlines()[1:2]))
    assert row[:-1] == ["1", "0.5", "a", "1970-01-01 00:00:01.000", "[1.5,null]", "inf"]


# -- invalid rows and partial files --------------------------------------------------


def test_rows_on_invalid_skip_drops_rows(bce: Any) -> None:
    run = bce("rows", CORPUS / "bad_prob.csv", "--on-invalid", "skip")
    assert run.exit_code == 0, run.stderr
    table = csv_table(run.stdout)
    assert table.num_rows == 9
    assert "1.7" not in table.column("prob").to_pylist()
    assert run.stderr == "Skipped 1 invalid row.\n"
    assert bce("rows", CORPUS / "bad_prob.csv", "--on-invalid", "skip", "-q").stderr == ""


def test_rows_invalid_row_is_an_error_by_default(bce: Any) -> None:
    run = bce("rows", CORPUS / "bad_prob.csv")
    assert run.exit_code == 2
    assert "bad_prob.csv row 3: prob = 1.7 is outside [0, 1]" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("name", ["out.parquet", "out.csv", "out.ndjson", "out.csv.gz"])
def test_rows_error_on_the_last_row_leaves_no_file(bce: Any, tmp_path: Path, name: str) -> None:
    lines = PREDS.read_text().splitlines()
    fields = lines[-1].split(",")
    fields[2] = "1.7"
    data = tmp_path / "bad_last.csv"
    data.write_text("\n".join([*lines[:-1], ",".join(fields)]) + "\n")
    out = tmp_path / name
    run = bce("rows", data, "-o", out, "--chunk-size", "1000")
    assert run.exit_code == 2
    assert "row 10000: prob = 1.7" in run.stderr
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["bad_last.csv"]  # no temporary left either


def test_rows_error_keeps_an_existing_output_untouched(bce: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous run")
    run = bce("rows", CORPUS / "bad_prob.csv", "-o", out)
    assert run.exit_code == 2
    assert out.read_bytes() == b"previous run"
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]


def test_rows_interrupt_removes_the_temporary(
    bce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bcecli.io import writers

    def interrupted(self: Any, table: pa.Table) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writers.ParquetSink, "write", interrupted)
    run = bce("rows", PREDS, "-o", tmp_path / "out.parquet")
    assert run.exit_code == 130
    assert os.listdir(tmp_path) == []


def test_rows_with_no_data_rows_is_an_error(bce: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    run = bce("rows", CORPUS / "header_only.csv", "-o", out)
    assert run.exit_code == 2
    assert "no data rows" in run.stderr
    assert os.listdir(tmp_path) == []


def test_rows_all_invalid_is_an_error(bce: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "all_bad.csv", "label,prob", ["1,1.5", "0,-2"])
    run = bce("rows", data, "--on-invalid", "skip")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "all 2 rows are invalid" in run.stderr


def test_rows_help_is_listed(bce: Any) -> None:
    run = bce("--help")
    assert run.exit_code == 0
    assert "rows" in run.stdout
    run = bce("rows", "--help")
    assert run.exit_code == 0
    assert "Examples:" in run.stdout and "141" in run.stdout
