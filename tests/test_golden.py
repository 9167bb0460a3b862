"""The rendered reports, compared with the files in tests/gold/ (see tests/gold/README.md).

A mismatch writes what bce printed to tests/actual/ and fails; after a deliberate
change, ``make golden`` (BCE_UPDATE_GOLDEN=1) rewrites the gold files instead.
"""

from __future__ import annotations

import difflib
import json
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
WIDTHS = (40, 60, 80, 100, 160)  # of the table with a gate, each in its own gold file


def write_baseline(folder: Path) -> Path:
    """The baseline of the gate cases: the sample's report without its partner rows.

    So some gated values equal their baseline's, some do not, and one group is new.
    """
    lines = (ROOT / "sample_data" / "preds.csv").read_text(encoding="utf-8").splitlines()
    rows = folder / "no_partner.csv"
    kept = [line for line in lines if ",partner," not in line]
    rows.write_text("\n".join(kept) + "\n", encoding="utf-8")
    report = bcecli.score(str(rows), prob=["prob", "model_b"], by="segment")
    path = folder / "baseline.json"
    path.write_text(json.dumps(report.to_dict()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_baseline(tmp_path_factory.mktemp("baseline"))


def gate_args(baseline: Path) -> list[str]:
    """The table's command with a gate against ``baseline``, over every column and group."""
    gate = ["--max-ne", "0.758", "--baseline", str(baseline), "--max-increase", "2se"]
    return [*ARGS, *gate, "--gate-groups"]


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


def pipe_environment(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """As a pipe sees it: no colour, ``width`` columns, paths as typed from the repo root."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", str(width))
    for variable in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize("name", list(CASES))
def test_report_matches_gold(bce: Any, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    pipe_environment(monkeypatch, 80)
    run = bce(*ARGS, *CASES[name])
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert "\x1b" not in run.stdout
    compare(name, scrub(run.stdout))


@pytest.mark.parametrize("width", WIDTHS)
def test_gate_report_at_each_width_matches_gold(
    bce: Any, monkeypatch: pytest.MonkeyPatch, baseline: Path, width: int
) -> None:
    pipe_environment(monkeypatch, width)
    run = bce(*gate_args(baseline))
    assert run.exit_code == 1, run.stderr  # max_ne fails for model_b
    assert "\x1b" not in run.stdout
    compare(f"score_gate_table_{width}.txt", scrub(run.stdout))


def test_scrub_hides_only_the_version() -> None:
    text = f"bce {bcecli.__version__} scored 10,000 rows"
    assert scrub(text) == "bce <VERSION> scored 10,000 rows"
