"""The edge-case corpus (tests/corpus/README.md): every file, its exit code and its message.

Every failure must reach the user as one or two plain sentences on stderr that name
the file, never a traceback, with SPEC section 7's exit code. Some cases run as a
real process, so nothing the interpreter prints on its way out can hide.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, Run, bce_process, validate_report

MISSING = "<missing>"
UNREADABLE = "<unreadable>"
FOLDER_OF_CSV = "<folder of csv>"


@dataclass(frozen=True)
class Case:
    path: str  # in the corpus, or one of the made-up cases above
    args: tuple[str, ...] = ()
    exit: int = 0
    says: tuple[str, ...] = ()  # exit 2: fragments of the message
    rows: int | None = None  # exit 0: metrics.rows
    skipped: int = 0
    process: bool = False  # run as a real process

    @property
    def id(self) -> str:
        return " ".join([self.path.strip("<>"), *self.args])


CASES = [
    Case("empty.csv", exit=2, says=("is empty",), process=True),
    Case("header_only.csv", exit=2, says=("no data rows",)),
    Case(MISSING, exit=2, says=("no such file",), process=True),
    Case(UNREADABLE, exit=2, says=("permission denied",), process=True),
    Case(FOLDER_OF_CSV, exit=2, says=("no Parquet files", "pass CSV files by name")),
    Case("empty_dir", exit=2, says=("no Parquet files",)),
    Case("mixed_dir", exit=2, says=("notes.txt is not a Parquet file",)),
    Case("binary.csv", exit=2, says=("binary data", "not delimited text"), process=True),
    Case("truncated.csv.gz", exit=2, says=("truncated",), process=True),
    Case("corrupt.parquet", exit=2, says=("corrupt",), process=True),
    Case("truncated.parquet", exit=2, says=("not a readable Parquet file",)),
    Case("parquet_named.csv", exit=2, says=("is a Parquet file", "--input-format parquet")),
    Case("parquet_named.csv", ("--input-format", "parquet"), rows=30),
    Case("utf16.csv", exit=2, says=("UTF-16", "iconv")),
    Case("semicolon.csv", exit=2, says=("single column", "Pass -d ';'"), process=True),
    Case("semicolon.csv", ("-d", ";"), rows=20),
    Case("crlf.csv", rows=20),
    Case("cr_only.csv", rows=20),
    Case("blank_lines.csv", rows=20),
    Case("bom.csv", rows=20),
    Case("ambiguous.csv", exit=2, says=("several probability-like columns", "--prob")),
    Case("ambiguous.csv", ("-p", "prob"), rows=20),
    Case("ambiguous.csv", ("-p", "prob", "-p", "score"), rows=20),
    Case("no_known_columns.csv", exit=2, says=("no label column", "a, b", "--label")),
    Case("no_known_columns.csv", ("-y", "a", "-p", "b"), rows=20),
    Case("three_classes.csv", exit=2, says=("row 1: label = 'cat'", "--pos-label")),
    Case(
        "three_classes.csv",
        ("--pos-label", "cat"),
        exit=2,
        says=("row 3: label = 'bird' is not 'cat' or 'dog'",),
        process=True,
    ),
    Case("three_classes.csv", ("--pos-label", "cat", "--on-invalid", "skip"), rows=8, skipped=2),
    Case("string_labels.csv", exit=2, says=("row 1: label = ", "--pos-label")),
    Case("string_labels.csv", ("--pos-label", "spam"), rows=20),
    Case("bool_labels.csv", rows=20),
    Case("string_prob.csv", exit=2, says=("row 1: prob = 'high' is not a number",), process=True),
    Case("string_prob.csv", ("--on-invalid", "skip"), exit=2, says=("all 10 rows are invalid",)),
    Case("bad_prob.csv", exit=2, says=("row 3: prob = 1.7 is outside [0, 1]",)),
    Case("bad_prob.csv", ("--on-invalid", "skip"), rows=9, skipped=1),
    Case("nan_prob.csv", exit=2, says=("row 2: prob = NaN",)),
    Case("nan_prob.csv", ("--on-invalid", "skip"), rows=9, skipped=1),
    Case("bad_label.csv", exit=2, says=("row 2: label = 2 is not 0 or 1",)),
    Case("bad_label.csv", ("--on-invalid", "skip"), rows=9, skipped=1),
    Case("weights_negative.csv", rows=10),
    Case(
        "weights_negative.csv", ("-w", "weight"), exit=2, says=("row 4: weight = -1.0 is negative",)
    ),
    Case("weights_negative.csv", ("-w", "weight", "--on-invalid", "skip"), rows=9, skipped=1),
    Case("latin1.csv", rows=10),
    Case(
        "latin1.csv", ("--by", "city"), exit=2, says=("row 3: city = b'M\\xfcnchen' is not UTF-8",)
    ),
    Case("ragged.csv", exit=2, says=("row 6: expected 2 fields", "found 3", "delimiter")),
    Case("ragged.csv", ("--on-invalid", "skip"), exit=2, says=("row 6: expected 2 fields",)),
    Case("open_quote.csv", exit=2, says=("row 4: the quote opened in prob",)),
    Case("preds.tsv", rows=50),
    Case("preds.csv.bz2", rows=200),
    Case("preds.csv.zst", rows=200),
    Case("parquet_dataset", rows=100),
    Case("parquet_dataset", ("--by", "segment"), rows=100),
    Case("logits.csv", exit=2, says=("no probability column", "--prob")),
    Case("logits.csv", ("--logit", "logit"), rows=30),
    Case("perfect.csv", rows=20),
]


def _drop_dac_capabilities() -> None:
    """In the child, before exec: drop the capabilities that let root read any file."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _can_drop_capabilities() -> bool:
    done = subprocess.run(["true"], preexec_fn=_drop_dac_capabilities, check=False)
    return done.returncode == 0


def _make_path(case: Case, tmp_path: Path) -> Path:
    if case.path == MISSING:
        return tmp_path / "no_such_file.csv"
    if case.path == UNREADABLE:
        path = tmp_path / "locked.csv"
        path.write_bytes((CORPUS / "bool_labels.csv").read_bytes())
        path.chmod(0)
        return path
    if case.path == FOLDER_OF_CSV:
        folder = tmp_path / "preds.csv"  # a folder named like a file
        folder.mkdir()
        (folder / "part-1.csv").write_bytes((CORPUS / "bool_labels.csv").read_bytes())
        return folder
    return CORPUS / case.path


def _process(args: list[Any], preexec: Callable[[], None] | None) -> Run:
    if preexec is None:
        done = bce_process(*args)
    else:
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "BCE_TRACEBACK")}
        done = subprocess.run(
            [sys.executable, "-m", "bcecli", *map(str, args)],
            capture_output=True,
            env=env,
            preexec_fn=preexec,
            timeout=60,
            check=False,
        )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_corpus(case: Case, bce: Any, tmp_path: Path) -> None:
    path = _make_path(case, tmp_path)
    args: list[Any] = ["score", path, *case.args, "--format", "json"]
    preexec = None
    if case.path == UNREADABLE and os.geteuid() == 0:
        # root reads a mode-000 file anyway; without CAP_DAC_OVERRIDE and
        # CAP_DAC_READ_SEARCH it is refused as it would be for any user.
        if not _can_drop_capabilities():
            pytest.skip("running as root without CAP_SETPCAP: cannot make a file unreadable")
        preexec = _drop_dac_capabilities
    run = _process(args, preexec) if case.process else bce(*args)

    assert "Traceback" not in run.stderr
    assert run.exit_code == case.exit, run.stderr
    if case.exit == 0:
        assert run.stderr == ""
        document = json.loads(run.stdout)
        validate_report(document)
        assert document["metrics"]["rows"] == case.rows
        assert document["metrics"]["skipped"] == case.skipped
        assert sum(i["rows"] for i in document["inputs"]) == case.rows
        return
    assert run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, run.stderr
    assert str(path) in run.stderr  # names the file
    for fragment in case.says:
        assert fragment in run.stderr


def test_every_corpus_file_has_a_case() -> None:
    covered = {case.path.split("/")[0] for case in CASES}
    present = {p.name for p in CORPUS.iterdir()} - {"README.md", "make_corpus.py", "__pycache__"}
    assert present <= covered, sorted(present - covered)
    readme = (CORPUS / "README.md").read_text()
    assert all(f"`{name}" in readme for name in present)
