"""bce score end to end: the table, the JSON document, the errors and the exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import log_loss

import bcecli

from conftest import SAMPLE, bce_process, validate_report, write_csv

PREDS = SAMPLE / "preds.csv"


def test_table_on_sample_data(bce: Any) -> None:
    run = bce("score", PREDS)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert "log loss ± 1.96 SE" in run.stdout
    assert "0.4717" in run.stdout
    assert "\x1b[" not in run.stdout  # not a terminal: no colour codes


def test_json_report_matches_sklearn_and_schema(bce: Any) -> None:
    run = bce("score", PREDS, "--format", "json")
    assert run.exit_code == 0 and run.stderr == ""
    document = run.json()
    frame = pd.read_csv(PREDS)
    assert document["metrics"]["log_loss"] == pytest.approx(
        log_loss(frame.label, frame.prob, labels=[0, 1]), rel=1e-12
    )
    assert document["inputs"] == [
        {"path": str(PREDS), "format": "csv", "rows": 10_000, "skipped": 0}
    ]
    assert document["columns"] == {
        "label": "label",
        "prob": ["prob"],
        "logit": None,
        "weight": None,
    }
    assert document["settings"]["eps"] == 2.220446049250313e-16
    assert document["groups"] == [] and document["calibration"] == [] and document["worst"] == []
    assert document["gate"] is None
    assert document["models"][0]["metrics"] == document["metrics"]


def test_csv_and_parquet_score_identically(bce: Any) -> None:
    csv_doc = bce("score", PREDS, "--format", "json").json()
    parquet_doc = bce("score", SAMPLE / "preds.parquet", "--format", "json").json()
    assert csv_doc["metrics"] == parquet_doc["metrics"]


def test_options_select_columns_weights_and_eps(bce: Any) -> None:
    run = bce(
        "score",
        PREDS,
        "-y",
        "label",
        "-p",
        "model_b",
        "-w",
        "weight",
        "--eps",
        "1e-7",
        "--chunk-size",
        "333",
        "--format",
        "json",
    )
    document = run.json()
    frame = pd.read_csv(PREDS)
    expected = log_loss(frame.label, frame.model_b.clip(1e-7, 1 - 1e-7), sample_weight=frame.weight)
    assert document["metrics"]["log_loss"] == pytest.approx(expected, rel=1e-12)
    assert document["settings"] == {"eps": 1e-7, "on_invalid": "error", "chunk_size": 333}
    assert document["columns"]["weight"] == "weight"


def test_logit_column(bce: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "z.csv", "y,z", ["1,2.0", "0,-1.0", "1,1e300", "0,-1e300"])
    document = bce("score", path, "--logit", "z", "--format", "json").json()
    assert document["columns"]["logit"] == "z" and document["columns"]["prob"] == []
    assert document["metrics"]["clipped"] == 0
    assert document["metrics"]["log_loss"] == pytest.approx(
        (0.12692801104297263 + 0.31326168751822286) / 4, rel=1e-12
    )


@pytest.mark.parametrize(
    ("header", "rows", "args", "expected"),
    [
        ("label,prob", ["1,0.5", "0,1.7"], [], ["row 2", "prob = 1.7 is outside [0, 1]"]),
        ("label,prob", ["1,0.5", "0,high"], [], ["row 2", "prob = 'high' is not a number"]),
        ("label,prob", ["1,0.5"], ["-p", "probb"], ["no column 'probb'", "Did you mean 'prob'"]),
        ("label,prob", ["1,0.5"], ["-y", "lable"], ["Did you mean 'label'"]),
        ("a,b", ["1,0.5"], [], ["no label column", "--label"]),
        ("label,prob", [], [], ["no data rows"]),
    ],
)
def test_user_errors_exit_2_with_one_plain_message(
    bce: Any, tmp_path: Path, header: str, rows: list[str], args: list[str], expected: list[str]
) -> None:
    path = write_csv(tmp_path / "bad.csv", header, rows)
    run = bce("score", path, *args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2
    for fragment in expected:
        assert fragment in run.stderr


def test_missing_and_empty_files(bce: Any, tmp_path: Path) -> None:
    missing = bce("score", tmp_path / "nope.csv")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    run = bce("score", empty)
    assert run.exit_code == 2 and "is empty" in run.stderr and str(empty) in run.stderr


def test_non_numeric_parquet_probability_column(bce: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({"label": [1, 0], "prob": ["high", "low"]}), path)
    run = bce("score", path)
    assert run.exit_code == 2
    assert f"{path} row 1: prob = 'high' is not a number" in run.stderr


def test_click_usage_errors_exit_2(bce: Any) -> None:
    assert bce("score", PREDS, "--no-such-option").exit_code == 2
    assert bce("score", PREDS, "--format", "yaml").exit_code == 2
    assert bce("score", PREDS, "--eps", "0.7").exit_code == 2
    assert bce("score", PREDS, "--chunk-size", "0").exit_code == 2
    assert bce("nosuchcommand").exit_code == 2


def test_schema_command_prints_the_shipped_schema(bce: Any) -> None:
    run = bce("schema")
    assert run.exit_code == 0
    schema = json.loads(run.stdout)
    assert schema["properties"]["schema"]["const"] == "bce.report/1"


def test_help_states_exit_codes(bce: Any) -> None:
    for args in (["--help"], ["score", "--help"], ["rows", "--help"], ["schema", "--help"]):
        run = bce(*args)
        assert run.exit_code == 0
        assert "Exit status" in run.stdout and "130" in run.stdout and "141" in run.stdout


def exit_statuses(help_text: str) -> dict[int, str]:
    """The "Exit status" epilog of a help text, status -> meaning."""
    epilog = help_text.partition("Exit status:")[2]
    statuses = {}
    for line in epilog.splitlines():
        code, _, meaning = line.strip().partition(" ")
        if code.isdigit():
            statuses[int(code)] = meaning.strip()
    return statuses


def test_each_command_states_the_exit_statuses_it_can_return(bce: Any) -> None:
    # Only score gates: rows and schema never exit 1, so their help does not say so.
    assert sorted(exit_statuses(bce("score", "--help").stdout)) == [0, 1, 2, 130, 141]
    assert sorted(exit_statuses(bce("--help").stdout)) == [0, 1, 2, 130, 141]
    assert "bce score" in exit_statuses(bce("--help").stdout)[1]
    rows = exit_statuses(bce("rows", "--help").stdout)
    assert sorted(rows) == [0, 2, 130, 141]
    assert "gate" not in " ".join(rows.values())
    schema = exit_statuses(bce("schema", "--help").stdout)
    assert sorted(schema) == [0, 2, 130, 141]
    assert schema[2] == "usage error"  # schema reads no input


def test_keep_without_worst_is_a_usage_error(bce: Any) -> None:
    for keep in (["--keep", "id"], ["--keep", "id", "--worst", "0"]):
        run = bce("score", PREDS, *keep)
        assert run.exit_code == 2
        assert run.stdout == ""
        assert run.stderr.startswith("Error: --keep needs --worst in bce score")
        assert run.stderr.count("\n") == 1
    assert bce("score", PREDS, "--keep", "id", "--worst", "1").exit_code == 0
    # In bce rows, --keep chooses the columns written: it needs nothing else.
    rows = bce("rows", PREDS, "--keep", "id")
    assert rows.exit_code == 0 and rows.stdout.startswith("id,log_loss\n")


def modules_loaded_by(args: list[str], modules: tuple[str, ...], status: int = 0) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running bce ``args``."""
    code = (
        "import sys\nfrom bcecli.cli import main\n"
        f"status = main({args!r})\n"
        f"print([m for m in {modules!r} if m in sys.modules], file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == status, done.stderr
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1].replace("'", '"'))
    return loaded


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["score", "--help"]])
def test_help_and_version_import_neither_pandas_nor_pyarrow(args: list[str]) -> None:
    assert modules_loaded_by(args, ("pandas", "pyarrow", "numpy", "rich")) == []


@pytest.mark.parametrize(
    "args",
    [
        ["score", str(PREDS), "--format", "json"],
        ["score", str(PREDS), "--format", "markdown", "--by", "segment"],
        ["score", str(SAMPLE / "preds.parquet"), "--format", "json", "--worst", "3"],
        ["score", str(PREDS), "--format", "json", "--worst", "3", "--keep", "id"],
        ["score", str(PREDS), "--format", "json", "--max-ne", "0.5"],  # a failed gate
        ["rows", str(PREDS)],
        ["schema"],
    ],
)
def test_commands_without_a_table_import_neither_rich_nor_pandas(args: list[str]) -> None:
    """Rich is loaded only to draw a table or a progress bar (stderr here is a pipe)."""
    ok = 1 if "--max-ne" in args else 0
    assert modules_loaded_by(args, ("rich", "pandas"), status=ok) == []


def test_rows_to_parquet_imports_neither_rich_nor_pandas(tmp_path: Path) -> None:
    args = ["rows", str(PREDS), "-o", str(tmp_path / "out.parquet")]
    assert modules_loaded_by(args, ("rich", "pandas")) == []


def test_the_table_still_imports_rich() -> None:
    """The check above is not vacuous: the same helper sees Rich where a table is drawn."""
    assert modules_loaded_by(["score", str(PREDS)], ("rich", "pandas")) == ["rich"]


def test_the_command_runs_numpy_with_one_blas_thread() -> None:
    """bce does no linear algebra: its entry point keeps OpenBLAS from starting a worker
    thread per core as numpy loads. Run as bce runs, then numpy imported: no thread more."""
    if not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2:
        pytest.skip("counts threads in /proc, with more than one processor to start them on")
    code = (
        "import os, sys\n"
        "from bcecli.__main__ import run\n"
        "sys.argv = ['bce', '--version']\n"  # runs the entry point, numpy not loaded yet
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "assert 'numpy' not in sys.modules\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "import numpy\n"
        "print(len(os.listdir('/proc/self/task')) - before, os.environ['OPENBLAS_NUM_THREADS'])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split()[-2:] == ["0", "1"], done.stdout
    # The user's own choice stands.
    env["OPENBLAS_NUM_THREADS"] = "2"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split()[-2:] == ["1", "2"], done.stdout


def test_importing_the_library_leaves_the_environment_alone() -> None:
    code = (
        "import os, bcecli, bcecli.api, bcecli.cli\n"
        "print(sorted(k for k in os.environ if k.endswith('_NUM_THREADS')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"


def test_version_as_a_process() -> None:
    done = bce_process("--version")
    assert done.returncode == 0
    assert bcecli.__version__ in done.stdout.decode()


def test_api_matches_cli_json(bce: Any) -> None:
    cli_document = bce("score", PREDS, "--format", "json").json()
    api_document = bcecli.score(str(PREDS)).to_dict()
    assert api_document == cli_document


@pytest.mark.parametrize("kind", ["dataframe", "table", "batch", "arrays"])
def test_api_in_memory_sources(kind: str) -> None:
    frame = pd.read_csv(PREDS)
    if kind == "dataframe":
        report = bcecli.score(frame)
    elif kind == "table":
        report = bcecli.score(pa.Table.from_pandas(frame))
    elif kind == "batch":
        report = bcecli.score(pa.RecordBatch.from_pandas(frame))
    else:
        report = bcecli.score(y=frame.label.to_numpy(), p=frame.prob.to_numpy())
    document = report.to_dict()
    validate_report(document)
    file_metrics = bcecli.score(str(PREDS)).metrics
    assert document["metrics"] == file_metrics
    assert document["inputs"][0]["path"] == "<memory>"


def test_api_errors_are_bce_errors() -> None:
    with pytest.raises(bcecli.BceError, match="outside"):
        bcecli.score(y=[1, 0], p=[0.5, 1.5])
    with pytest.raises(bcecli.BceError):
        bcecli.score(y=[1, 0], p=[0.5])
    with pytest.raises(bcecli.BceError, match="Did you mean"):
        bcecli.score(pd.read_csv(PREDS), prob="probb")


def test_row_losses_api() -> None:
    frame = pd.read_csv(PREDS)
    losses = bcecli.row_losses(y=frame.label.to_numpy(), p=frame.prob.to_numpy())
    assert losses.mean() == pytest.approx(bcecli.score(frame).log_loss, rel=1e-12)
    with_losses = bcecli.row_losses(frame)
    assert list(with_losses.columns) == [*frame.columns, "log_loss"]
    table = bcecli.row_losses(str(PREDS))
    assert table.num_rows == 10_000 and table.column_names[-1] == "log_loss"
    validate_report(bcecli.score(frame).to_dict())


def test_version_has_one_source() -> None:
    from importlib.metadata import version

    assert version("bcecli") == bcecli.__version__


def test_plain_scoring_imports_neither_pandas_nor_pyarrow_compute() -> None:
    # Start-up is half of a 1M-row run: pandas (0.3 s, pulled in by pyarrow's to_numpy)
    # and pyarrow.compute (55 ms of docstring generation) stay out of the numeric path.
    args = ["score", str(PREDS), "--format", "json"]
    assert modules_loaded_by(args, ("pandas", "pyarrow.compute")) == []
