"""The rendered reports, compared with the files in tests/gold/ (see tests/gold/README.md).

A mismatch writes what bce printed to tests/actual/ and fails; after a deliberate
change, ``make golden`` (BCE_UPDATE_GOLDEN=1) rewrites the gold files instead.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import pytest

import bcecli

from conftest import ROOT

GOLD = Path(__file__).resolve().parent / "gold"
ACTUAL = Path(__file__).resolve().parent / "actual"
ARGS = (
    "score",
    "sample_data/preds.csv",
    *("-p", "prob", "-p", "model_b", "--by", "segment", "--calibration", "10"),
    *("--worst", "5", "--keep", "id,segment"),
)
CASES = {"score_table.txt": (), "score_markdown.md": ("--format", "markdown")}


def scrub(text: str) -> str:
    """What may change without the report changing: the version of bce."""
    return re.sub(re.escape(bcecli.__version__) + r"\b", "<VERSION>", text)


def compare(name: str, actual: str) -> None:
    gold = GOLD / name
    if os.environ.get("BCE_UPDATE_GOLDEN") == "1":
        gold.parent.mkdir(exist_ok=True)
        gold.write_text(actual, encoding="utf-8")
        return
    expected = gold.read_text(encoding="utf-8") if gold.exists() else ""
    if actual == expected:
        return
    ACTUAL.mkdir(exist_ok=True)
    (ACTUAL / name).write_text(actual, encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            f"tests/gold/{name}",
            f"tests/actual/{name}",
        )
    )
    pytest.fail(
        f"{name} differs from tests/gold/{name}; bce's output is in tests/actual/{name}.\n"
        "If the change is deliberate, regenerate the gold files with `make golden` "
        "(BCE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py) and "
        f"review the diff before committing.\n{diff[:4000]}",
        pytrace=False,
    )


@pytest.mark.parametrize("name", list(CASES))
def test_report_matches_gold(bce: Any, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # Rendered as a pipe sees it: width 80, no colour, paths as typed from the repo root.
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "80")
    for variable in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)
    run = bce(*ARGS, *CASES[name])
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert "\x1b" not in run.stdout
    compare(name, scrub(run.stdout))


def test_scrub_hides_only_the_version() -> None:
    text = f"bce {bcecli.__version__} scored 10,000 rows"
    assert scrub(text) == "bce <VERSION> scored 10,000 rows"
