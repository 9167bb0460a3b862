"""The library does all the CLI does: ``bcecli.score()`` takes the gates and the engine,
and gives the very gate the CLI's JSON report carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bcecli
from bcecli.errors import BaselineError, UsageError

from conftest import SAMPLE

PREDS = str(SAMPLE / "preds.csv")


def cli_gate(bce: Any, *args: Any) -> tuple[int, Any]:
    run = bce("score", PREDS, "--format", "json", *args)
    return run.exit_code, run.json()["gate"]


def test_limits_give_the_cli_gate(bce: Any) -> None:
    report = bcecli.score(PREDS, max_loss=0.45, max_ne=1.0)
    code, gate = cli_gate(bce, "--max-loss", "0.45", "--max-ne", "1")
    assert code == 1
    assert report.gate == gate
    assert not report.passed
    assert [check["passed"] for check in gate["checks"]] == [False, True]


def test_no_gate_asked_leaves_gate_null() -> None:
    report = bcecli.score(PREDS)
    assert report.gate is None
    assert report.passed


@pytest.mark.parametrize("form", ["path", "pathlike", "report", "document"])
def test_a_baseline_in_every_form_gives_the_cli_gate(bce: Any, tmp_path: Path, form: str) -> None:
    base_path = tmp_path / "base.json"
    assert bce("score", PREDS, "-p", "model_b", "--report-json", base_path).exit_code == 0
    document = json.loads(base_path.read_text())
    baseline: Any = {
        "path": str(base_path),
        "pathlike": base_path,
        "report": bcecli.score(PREDS, prob="model_b"),
        "document": document,
    }[form]
    # model_b against its own report: no increase, so even 0se passes.
    report = bcecli.score(PREDS, prob="model_b", baseline=baseline, max_increase="0se")
    code, gate = cli_gate(bce, "-p", "model_b", "--baseline", base_path, "--max-increase", "0se")
    assert (code, report.gate) == (0, gate)
    assert report.passed


def test_a_worse_model_fails_against_its_baseline(bce: Any, tmp_path: Path) -> None:
    base_path = tmp_path / "base.json"
    bce("score", PREDS, "--report-json", base_path)
    # Score model_b under the baseline's column name: same rows, a higher loss.
    worse = tmp_path / "worse.csv"
    text = (SAMPLE / "preds.csv").read_text().splitlines()
    header = text[0].split(",")
    a, b = header.index("prob"), header.index("model_b")
    header[a], header[b] = "model_b", "prob"
    worse.write_text("\n".join([",".join(header), *text[1:]]) + "\n")
    report = bcecli.score(str(worse), baseline=str(base_path), max_increase="1%")
    run = bce("score", worse, "--format", "json", "--baseline", base_path, "--max-increase", "1%")
    assert run.exit_code == 1
    assert report.gate == run.json()["gate"]
    assert not report.passed


def test_group_gates_match_the_cli(bce: Any) -> None:
    report = bcecli.score(PREDS, by="segment", max_loss=0.5, gate_groups=True)
    _, gate = cli_gate(bce, "--by", "segment", "--max-loss", "0.5", "--gate-groups")
    assert report.gate == gate
    assert len(gate["checks"]) == 5  # all rows and four segments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_increase": "1%"}, "--max-increase compares with a baseline"),
        ({"baseline": {"schema": "bce.report/1"}}, "--baseline needs --max-increase"),
        ({"max_loss": 0.5, "gate_groups": True}, "--gate-groups gates every --by group"),
        ({"max_loss": float("nan")}, "finite number"),
        ({"max_loss": -1.0}, "finite number"),
        ({"max_increase": "lots", "baseline": {}}, "is not an absolute increase"),
        ({"engine": "spark"}, "engine must be one of"),
        ({"scheduler": "tcp://127.0.0.1:1"}, "--scheduler is for --engine dask"),
    ],
)
def test_gate_and_engine_arguments_that_do_not_fit_are_refused(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        bcecli.score(PREDS, **kwargs)


def test_a_missing_baseline_file_is_a_baseline_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="does not exist"):
        bcecli.score(PREDS, baseline=str(tmp_path / "none.json"), max_increase="1%")


def test_dask_scores_files_not_memory() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(UsageError, match="scores files"):
        bcecli.score(y=[0, 1], p=[0.2, 0.7], engine="dask", scheduler="tcp://127.0.0.1:1")


def test_limits_by_name_are_the_same_gates() -> None:
    by_name = bcecli.score(PREDS, limits={"max_ne": 1.0, "max_loss": 0.45})
    assert by_name.gate == bcecli.score(PREDS, max_loss=0.45, max_ne=1.0).gate


def test_an_unknown_limit_is_refused() -> None:
    with pytest.raises(UsageError, match="No gate is called 'max_brier'"):
        bcecli.score(PREDS, limits={"max_brier": 0.2})


def test_every_limit_gate_reads_a_metric_and_has_its_option(bce: Any) -> None:
    from bcecli.core.metrics import METRIC_KEYS
    from bcecli.gate import LIMITS

    help_text = bce("score", "--help").stdout
    for limit in LIMITS:
        assert limit.metric in METRIC_KEYS
        assert limit.option in help_text
