"""bce as a CI model-quality gate, end to end through main(): exit codes, stderr, files."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, SAMPLE, Run, bce_process, write_csv

PREDS = SAMPLE / "preds.csv"  # log loss of prob about 0.4717, of model_b about 0.5164


def lines(run: Run) -> list[str]:
    return run.stderr.splitlines()


@pytest.fixture
def score(bce: Any) -> Any:
    """score(*args) runs ``bce score *args`` in-process."""
    return lambda *args: bce("score", *args)


@pytest.fixture
def baseline(score: Any, tmp_path: Path) -> Path:
    """A baseline report of preds.csv's prob column, per segment, written by --report-json."""
    path = tmp_path / "main.json"
    run = score(PREDS, "-p", "prob", "--by", "segment", "--format", "json", "--report-json", path)
    assert run.exit_code == 0
    assert json.loads(path.read_text()) == run.json()
    return path


@pytest.fixture
def worse(tmp_path: Path) -> Path:
    """preds.csv with model_b (the worse model) renamed prob, as a later model would write it."""
    path = tmp_path / "worse.csv"
    text = PREDS.read_text()
    header, rest = text.split("\n", 1)
    assert header == "id,label,prob,segment,model_b,weight"
    path.write_text("id,label,old,segment,prob,weight\n" + rest)
    return path


# --- --max-loss and --max-ne ---------------------------------------------------------------


def test_no_gate_means_gate_null(score: Any) -> None:
    run = score(PREDS, "--format", "json")
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.json()["gate"] is None


def test_passing_gate_exits_0_quietly(score: Any) -> None:
    run = score(PREDS, "--max-loss", "0.5", "--max-ne", "1", "--format", "json")
    assert (run.exit_code, run.stderr) == (0, "")
    gate = run.json()["gate"]
    assert gate["passed"] is True
    assert [(c["name"], c["threshold"], c["passed"]) for c in gate["checks"]] == [
        ("max_loss", 0.5, True),
        ("max_ne", 1.0, True),
    ]
    assert gate["checks"][0]["value"] == run.json()["metrics"]["log_loss"]


def test_failing_gate_exits_1_with_one_line(score: Any) -> None:
    run = score(PREDS, "--max-loss", "0.45", "--max-ne", "1", "--format", "json")
    assert run.exit_code == 1
    assert lines(run) == ["Gate failed: log_loss 0.4717 > max-loss 0.45"]
    gate = run.json()["gate"]  # the report is still printed, and valid
    assert gate["passed"] is False
    assert [c["passed"] for c in gate["checks"]] == [False, True]


def test_failing_gate_in_the_table_and_markdown(score: Any) -> None:
    table = score(PREDS, "--max-loss", "0.45")
    assert table.exit_code == 1
    assert "Gate: FAILED" in table.stdout and "FAIL" in table.stdout
    markdown = score(PREDS, "--max-ne", "0.5", "--format", "markdown")
    assert markdown.exit_code == 1
    assert "### Gate: FAILED" in markdown.stdout
    # The row's numbers in one format, NE as the metrics table shows it.
    assert "| normalized entropy | 0.7580 |" in markdown.stdout
    assert "| max_ne | prob | - | 0.7580 | 0.5000 | - | - | FAIL |" in markdown.stdout
    assert lines(markdown) == ["Gate failed: normalized_entropy 0.758 > max-ne 0.5"]


def test_threshold_equal_to_the_loss_passes_and_one_ulp_below_fails(score: Any) -> None:
    loss = score(PREDS, "--format", "json").json()["metrics"]["log_loss"]
    assert score(PREDS, "--max-loss", repr(loss)).exit_code == 0
    below = math.nextafter(loss, 0.0)
    run = score(PREDS, "--max-loss", repr(below), "--format", "json")
    assert run.exit_code == 1
    (line,) = lines(run)
    # Values compare exactly and print with the digits it takes to tell them apart.
    value, threshold = line.removeprefix("Gate failed: log_loss ").split(" > max-loss ")
    assert value != threshold
    assert float(value) > float(threshold)
    assert run.json()["gate"]["checks"][0]["threshold"] == below


def test_every_column_is_gated(score: Any) -> None:
    run = score(PREDS, "-p", "prob", "-p", "model_b", "--max-loss", "0.5", "--format", "json")
    assert run.exit_code == 1
    assert lines(run) == ["Gate failed: model_b: log_loss 0.5164 > max-loss 0.5"]
    checks = run.json()["gate"]["checks"]
    assert [(c["column"], c["passed"]) for c in checks] == [("prob", True), ("model_b", False)]


def test_gate_groups_gates_every_group(score: Any) -> None:
    args = [PREDS, "--by", "segment", "--max-loss", "0.5", "--format", "json"]
    assert score(*args).exit_code == 0  # groups are reported, not gated
    run = score(*args, "--gate-groups")
    assert run.exit_code == 1
    checks = run.json()["gate"]["checks"]
    assert [c["group"] for c in checks] == [
        None,
        {"segment": "web"},
        {"segment": "mobile"},
        {"segment": "email"},
        {"segment": "partner"},
    ]
    failed = [c for c in checks if not c["passed"]]
    assert len(lines(run)) == len(failed) == 2
    assert lines(run) == [
        "Gate failed: segment=mobile: log_loss 0.5051 > max-loss 0.5",
        "Gate failed: segment=partner: log_loss 0.5455 > max-loss 0.5",
    ]


def test_ne_undefined_for_a_one_class_group_fails(score: Any, tmp_path: Path) -> None:
    data = write_csv(
        tmp_path / "one_class.csv",
        "label,prob,segment",
        ["1,0.9,a", "0,0.2,a", "1,0.8,b", "1,0.7,b"],
    )
    run = score(data, "--by", "segment", "--gate-groups", "--max-ne", "1", "--format", "json")
    assert run.exit_code == 1
    assert lines(run) == [
        "Gate failed: segment=b: normalized_entropy is undefined (the base rate is 0 or 1), "
        "so it cannot pass max-ne 1"
    ]
    assert run.json()["gate"]["checks"][2]["value"] is None


# --- --baseline and --max-increase ---------------------------------------------------------


@pytest.mark.parametrize("spec", ["0", "0%", "0se", "0.002", "1%", "2se"])
def test_same_predictions_pass_against_their_baseline(
    score: Any, baseline: Path, spec: str
) -> None:
    run = score(PREDS, "--baseline", baseline, "--max-increase", spec, "--format", "json")
    assert (run.exit_code, run.stderr) == (0, "")
    (check,) = run.json()["gate"]["checks"]
    assert check["delta"] == 0.0
    assert check["value"] == check["baseline"]


@pytest.mark.parametrize(
    "spec, code, line",
    [
        ("0.002", 1, "log_loss 0.5164 > baseline 0.4717 + 0.002 = 0.4737 (max-increase 0.002)"),
        ("5%", 1, "log_loss 0.5164 > baseline 0.4717 + 0.02358 = 0.4952 (max-increase 5%)"),
        ("2se", 1, "log_loss 0.5164 > baseline 0.4717 + 0.01481 = 0.4865 (max-increase 2se)"),
        ("0.05", 0, None),
        ("10%", 0, None),
        ("7se", 0, None),  # 0.0448 / 0.0074 is about 6 SEs of the difference
    ],
)
def test_worse_model_against_baseline(
    score: Any, baseline: Path, worse: Path, spec: str, code: int, line: str | None
) -> None:
    base = json.loads(baseline.read_text())["metrics"]
    run = score(worse, "--baseline", baseline, "--max-increase", spec, "--format", "json")
    assert run.exit_code == code
    assert lines(run) == ([] if line is None else [f"Gate failed: {line}"])
    (check,) = run.json()["gate"]["checks"]
    now = run.json()["metrics"]
    assert check["name"] == "max_increase"
    assert check["value"] == now["log_loss"]
    assert check["baseline"] == base["log_loss"]
    assert check["delta"] == now["log_loss"] - base["log_loss"]
    assert check["passed"] == (check["value"] <= check["threshold"])
    if spec == "2se":
        se = math.hypot(now["log_loss_se"], base["log_loss_se"])
        assert check["threshold"] == base["log_loss"] + 2 * se


def test_baseline_from_stdout_with_gate_groups(score: Any, worse: Path, tmp_path: Path) -> None:
    # A baseline redirected from --format json works as well as --report-json.
    base = score(PREDS, "--by", "segment", "--format", "json")
    path = tmp_path / "stdout.json"
    path.write_text(base.stdout)
    run = score(
        worse,
        "--by",
        "segment",
        "--gate-groups",
        "--baseline",
        path,
        "--max-increase",
        "2se",
        "--format",
        "json",
    )
    assert run.exit_code == 1
    checks = run.json()["gate"]["checks"]
    assert [(c["group"], c["passed"]) for c in checks] == [
        (None, False),
        ({"segment": "web"}, False),
        ({"segment": "mobile"}, False),
        ({"segment": "email"}, False),
        ({"segment": "partner"}, True),  # within 2 SE: a small group is noisy
    ]
    assert len(lines(run)) == 4


def test_new_group_is_listed_not_gated(score: Any, tmp_path: Path) -> None:
    rows = ["1,0.8,a", "0,0.3,a", "0,0.1,a", "1,0.6,b", "0,0.4,b"]
    before = write_csv(tmp_path / "before.csv", "label,prob,segment", rows)
    after = write_csv(tmp_path / "after.csv", "label,prob,segment", [*rows, "1,0.01,c", "0,0.2,c"])
    base = tmp_path / "base.json"
    assert score(before, "--by", "segment", "--report-json", base).exit_code == 0
    args = [after, "--by", "segment", "--gate-groups", "--baseline", base, "--max-increase", "1"]
    run = score(*args, "--format", "json")
    assert (run.exit_code, run.stderr) == (0, "")
    checks = {
        c["group"]["segment"] if c["group"] else None: c for c in run.json()["gate"]["checks"]
    }
    assert checks["c"]["value"] > 2  # a confident miss, yet not gated: nothing to compare with
    assert (checks["c"]["baseline"], checks["c"]["threshold"], checks["c"]["passed"]) == (
        None,
        None,
        True,
    )
    markdown = score(*args, "--format", "markdown")
    assert "| max_increase | prob | segment=c |" in markdown.stdout


def test_junit_xml(score: Any, tmp_path: Path) -> None:
    junit = tmp_path / "bce.xml"
    run = score(
        PREDS,
        "-p",
        "prob",
        "-p",
        "model_b",
        "--by",
        "segment",
        "--gate-groups",
        "--max-loss",
        "0.5",
        "--max-ne",
        "1",
        "--junit-xml",
        junit,
        "--format",
        "json",
    )
    assert run.exit_code == 1
    checks = run.json()["gate"]["checks"]
    failed = [c for c in checks if not c["passed"]]
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "bce"
    assert suite.get("tests") == str(len(checks)) == "20"
    assert suite.get("failures") == str(len(failed)) == "6"
    assert (suite.get("errors"), suite.get("skipped")) == ("0", "0")
    assert suite.get("time") is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(checks)
    assert cases[0].get("classname") == "bce.gate"
    assert cases[0].get("name") == "max_loss[prob]"
    assert cases[-1].get("name") == "max_ne[model_b, segment=partner]"
    messages = []
    for case, check in zip(cases, checks, strict=True):
        failure = case.find("failure")
        assert (failure is None) == check["passed"]
        if failure is not None:
            messages.append(failure.get("message"))
    # Each failure says what the stderr line says.
    assert ["Gate failed: " + m for m in messages] == lines(run)


def test_junit_xml_marks_new_groups_skipped(score: Any, tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    before = write_csv(tmp_path / "b.csv", "label,prob,g", ["1,0.8,a", "0,0.3,a"])
    after = write_csv(tmp_path / "a.csv", "label,prob,g", ["1,0.8,a", "0,0.3,a", "1,0.9,b"])
    assert score(before, "--by", "g", "--report-json", base).exit_code == 0
    junit = tmp_path / "out" / "bce.xml"
    junit.parent.mkdir()
    run = score(
        after,
        "--by",
        "g",
        "--gate-groups",
        "--baseline",
        base,
        "--max-increase",
        "1%",
        "--junit-xml",
        junit,
    )
    assert run.exit_code == 0
    suite = ET.parse(junit).getroot()[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "0", "1")
    assert [c.get("name") for c in suite if c.find("skipped") is not None] == [
        "max_increase[prob, g=b]"
    ]
    assert [p.name for p in junit.parent.iterdir()] == ["bce.xml"]  # written whole, no temp left


def junit_error(path: Path) -> str:
    """The message of a JUnit file's one test case in error (the run could not score)."""
    suite = ET.parse(path).getroot()[0]
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("1", "1", "0")
    (case,) = suite.findall("testcase")
    error = case.find("error")
    assert error is not None and case.find("failure") is None
    message = error.get("message")
    assert message and error.text == message
    return message


@pytest.mark.parametrize(
    "source, extra",
    [
        ("{tmp}/missing.csv", []),
        (str(CORPUS / "bad_prob.csv"), []),
        (str(CORPUS / "corrupt.parquet"), []),
        (str(PREDS), ["--baseline", "{tmp}/missing.json", "--max-increase", "1%"]),
        (str(PREDS), ["--baseline", str(CORPUS / "bad_prob.csv"), "--max-increase", "1%"]),
        (str(PREDS), ["--report-json", "{tmp}/no/such/folder/r.json"]),
    ],
    ids=[
        "missing file",
        "invalid row",
        "corrupt parquet",
        "no baseline",
        "bad baseline",
        "report unwritable",
    ],
)
def test_junit_xml_when_the_input_cannot_be_scored(
    score: Any, tmp_path: Path, source: str, extra: list[str]
) -> None:
    # A CI reporter step after bce then shows why, instead of failing for a missing file.
    out = tmp_path / "out"
    out.mkdir()
    junit = out / "bce.xml"
    args = [a.format(tmp=tmp_path) for a in [source, *extra]]
    run = score(*args, "--max-loss", "0.5", "--junit-xml", junit, "--format", "json")
    assert run.exit_code == 2
    assert run.stdout == "" and "Traceback" not in run.stderr
    # The same message, with control characters (pyarrow's, of a corrupt file) spelled
    # out: XML 1.0 cannot hold them.
    shown = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"\\x{ord(m[0]):02x}", run.stderr)
    assert shown.splitlines() == ["Error: " + junit_error(junit)]
    assert [p.name for p in out.iterdir()] == ["bce.xml"]  # written whole, no temp left


def test_junit_xml_of_an_earlier_run_is_replaced_by_the_error(score: Any, tmp_path: Path) -> None:
    junit = tmp_path / "bce.xml"
    assert score(PREDS, "--max-loss", "0.5", "--junit-xml", junit).exit_code == 0
    assert ET.parse(junit).getroot()[0].get("tests") == "1"
    run = score(CORPUS / "nan_prob.csv", "--max-loss", "0.5", "--junit-xml", junit)
    assert run.exit_code == 2
    assert "nan_prob.csv row" in junit_error(junit)


def test_junit_xml_on_error_from_a_real_process(tmp_path: Path) -> None:
    junit = tmp_path / "bce.xml"
    bad = write_csv(tmp_path / "bad.csv", "label,prob", ["1,0.5", "0,<&>\x01"])
    done = bce_process("score", bad, "--max-ne", "1", "--junit-xml", junit)
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert stderr.count("\n") == 1 and "row 2" in stderr
    # The message survives XML: markup characters escaped, a control character spelled out.
    assert "<&>\\x01" in junit_error(junit)


def test_junit_xml_that_cannot_be_written_keeps_the_first_error(score: Any, tmp_path: Path) -> None:
    junit = tmp_path / "missing" / "bce.xml"
    run = score(CORPUS / "bad_prob.csv", "--max-loss", "0.5", "--junit-xml", junit)
    assert run.exit_code == 2
    assert len(lines(run)) == 1 and "bad_prob.csv row 3" in run.stderr
    assert not junit.parent.exists()


# --- usage errors and bad baselines: exit 2 ------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-increase", "1%"], "Error: --max-increase compares with a baseline"),
        (["--baseline", "{base}"], "Error: --baseline needs --max-increase"),
        (["--gate-groups", "--max-loss", "1"], "Error: --gate-groups gates every --by group"),
        (["--by", "segment", "--gate-groups"], "Error: --gate-groups applies gates to groups"),
        (["--junit-xml", "{tmp}/j.xml"], "Error: --junit-xml writes one test case per gate"),
        (["--max-loss", "nan"], "Invalid value for '--max-loss': nan is not a finite number"),
        (["--max-loss", "-1"], "Invalid value for '--max-loss': -1.0 is not a finite number"),
        (["--max-ne", "x"], "Invalid value for '--max-ne'"),
        (
            ["--baseline", "{base}", "--max-increase", "1x"],
            "Invalid value for '--max-increase': '1x' is not an absolute increase",
        ),
        (["--baseline", "{base}", "--max-increase", "-2se"], "'-2se' is not a finite amount"),
    ],
)
def test_usage_errors(
    score: Any, baseline: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a.format(base=baseline, tmp=tmp_path) for a in args]
    run = score(PREDS, *args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "j.xml").exists()


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "Error: Baseline {path} does not exist; write one with bce score"),
        ("{", [], "Error: Baseline {path} is not a JSON report (line 1:"),
        ("\x00\xff", [], "is not a JSON report"),
        ("[1, 2]", [], "Error: Baseline {path} is JSON but not a bce report"),
        ('{"schema": "bce.report/2"}', [], "is a 'bce.report/2' report and this bce reads"),
        ('{"schema": "bce.report/1"}', [], "The baseline is not a complete bce report"),
        ("BASE", ["--eps", "1e-7"], "scored with eps 2.220446049250313e-16 and this run with"),
        ("BASE", ["-p", "model_b"], "The baseline has no column 'model_b' (it has 'prob')"),
        (
            "BASE",
            ["--by", "id", "--gate-groups"],
            "grouped by segment and this run is grouped by id",
        ),
    ],
)
def test_bad_baselines(
    score: Any, baseline: Path, tmp_path: Path, content: str | None, extra: list[str], message: str
) -> None:
    path = tmp_path / "other.json"
    if content == "BASE":
        path = baseline
    elif content is not None:
        path.write_bytes(content.encode("latin-1"))
    run = score(PREDS, "--baseline", path, "--max-increase", "1%", *extra)
    assert run.exit_code == 2
    assert message.format(path=path) in run.stderr
    assert len(lines(run)) == 1
    assert "Traceback" not in run.stderr


def test_baseline_with_another_label_column(score: Any, tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    data = write_csv(tmp_path / "d.csv", "label,y,prob", ["1,1,0.8", "0,0,0.3"])
    assert score(data, "-y", "label", "--report-json", base).exit_code == 0
    run = score(data, "-y", "y", "--baseline", base, "--max-increase", "0")
    assert run.exit_code == 2
    assert "label column is 'label' and this run's is 'y'; pass -y label" in run.stderr


def test_baseline_folder(score: Any, tmp_path: Path) -> None:
    run = score(PREDS, "--baseline", tmp_path, "--max-increase", "0")
    assert run.exit_code == 2
    assert "is a folder, not a JSON report" in run.stderr


# --- help ----------------------------------------------------------------------------------


def test_help_states_exit_codes_and_gates(score: Any) -> None:
    run = score("--help")
    assert run.exit_code == 0
    text = " ".join(run.stdout.split())
    for option in ("--max-loss X", "--max-ne X", "--baseline REPORT.json", "--max-increase D"):
        assert option in text
    assert "--gate-groups" in text and "--junit-xml PATH" in text
    assert '--max-ne 1 means "better than always predicting the base rate"' in text
    assert "0 scored, and every gate passed" in text
    assert "1 scored, and a gate failed" in text
    assert "2 usage error, or invalid or unreadable input" in text
