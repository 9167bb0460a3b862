"""The gate as pure functions (bcecli.gate; its words in bcecli.report.gate_text and
bcecli.report.junit): tables of cases, no CLI."""

from __future__ import annotations

import datetime
import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from bcecli.errors import BaselineError, UsageError
from bcecli.gate import Increase, check_limit, evaluate, parse_max_increase
from bcecli.report.gate_text import failure_lines
from bcecli.report.junit import render_junit

from conftest import validate_report

EPS = 2.220446049250313e-16
UP = math.inf  # direction for math.nextafter: the next float above


def metrics(loss: float | None, se: float | None = 0.01, ne: float | None = 0.8) -> dict[str, Any]:
    """A complete metrics object (the schema wants every key) with the gated numbers set."""
    return {
        "rows": 100,
        "skipped": 0,
        "weight_sum": 100.0,
        "positives": 30.0,
        "base_rate": 0.3,
        "mean_prob": 0.3,
        "log_loss": loss,
        "log_loss_se": se,
        "normalized_entropy": ne,
        "brier": 0.2,
        "clipped": 0,
        "ece": None,
    }


def models(columns: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"column": name, "metrics": m, "paired_diff": None if i == 0 else {"mean": 0.0, "se": 0.0}}
        for i, (name, m) in enumerate(columns.items())
    ]


def document(
    columns: dict[str, dict[str, Any]] | None = None,
    groups: dict[str, dict[str, dict[str, Any]]] | None = None,
    *,
    by: str = "segment",
    eps: float = EPS,
    label: str = "label",
    schema: str = "bce.report/1",
) -> dict[str, Any]:
    """A report document; groups maps a --by value to that group's columns."""
    columns = columns or {"prob": metrics(0.47)}
    first = next(iter(columns.values()))
    return {
        "schema": schema,
        "bce_version": "0.1.0",
        "inputs": [{"path": "preds.csv", "format": "csv", "rows": 100, "skipped": 0}],
        "columns": {"label": label, "prob": list(columns), "logit": None, "weight": None},
        "settings": {"eps": eps, "on_invalid": "error", "chunk_size": 100000},
        "metrics": first,
        "models": models(columns),
        "groups": [
            {
                "key": {by: value},
                "metrics": next(iter(cols.values())),
                "models": models(cols),
            }
            for value, cols in (groups or {}).items()
        ],
        "calibration": [],
        "calibration_by_model": [],
        "loss_histogram": [],
        "worst": [],
        "gate": None,
    }


def gated(doc: dict[str, Any], **options: Any) -> dict[str, Any]:
    """evaluate(), with the result checked against the report's JSON Schema."""
    gate = evaluate(doc, **options)
    validate_report({**doc, "gate": gate})
    return gate


def only(gate: dict[str, Any]) -> dict[str, Any]:
    assert len(gate["checks"]) == 1
    check: dict[str, Any] = gate["checks"][0]
    assert gate["passed"] is check["passed"]
    return check


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind, amount",
    [
        ("0.002", "absolute", 0.002),
        ("0", "absolute", 0.0),
        ("1e-3", "absolute", 0.001),
        ("+0.5", "absolute", 0.5),
        ("1%", "relative", 0.01),
        ("0.5%", "relative", 0.005),
        ("0%", "relative", 0.0),
        ("2se", "se", 2.0),
        (" 2SE ", "se", 2.0),
        ("2 se", "se", 2.0),
        ("1.5se", "se", 1.5),
        ("0se", "se", 0.0),
    ],
)
def test_parse_max_increase(text: str, kind: str, amount: float) -> None:
    parsed = parse_max_increase(text)
    assert (parsed.kind, parsed.amount, parsed.text) == (kind, amount, text.strip())


@pytest.mark.parametrize(
    "text",
    ["", " ", "x", "1x", "%", "se", "-1", "-1%", "-2se", "nan", "inf", "nan%", "infse", "1%%"],
)
def test_parse_max_increase_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="is not"):
        parse_max_increase(text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.1])
def test_check_limit_refuses(value: float) -> None:
    with pytest.raises(UsageError, match="--max-loss"):
        check_limit(value, "--max-loss")
    with pytest.raises(UsageError, match="--max-ne"):
        evaluate(document(), max_ne=value)


# --- max_loss and max_ne -------------------------------------------------------------------


@pytest.mark.parametrize(
    "gate, loss, ne, threshold, passed",
    [
        ("max_loss", 0.4712, 0.8, 0.45, False),
        ("max_loss", 0.44, 0.8, 0.45, True),
        ("max_loss", 0.45, 0.8, 0.45, True),  # equal passes: fails only when above
        ("max_loss", math.nextafter(0.45, UP), 0.8, 0.45, False),  # exact, no rounding
        ("max_loss", 0.0, 0.8, 0.0, True),
        ("max_ne", 0.47, 1.02, 1.0, False),
        ("max_ne", 0.47, 0.99, 1.0, True),
        ("max_ne", 0.47, 1.0, 1.0, True),
        ("max_ne", 0.47, math.nextafter(1.0, UP), 1.0, False),
        # An undefined value cannot pass: NE is null when the base rate is 0 or 1,
        # a loss is NaN over zero weight. The check fails and shows the value as null.
        ("max_ne", 0.47, None, 1.0, False),
        ("max_ne", 0.47, math.nan, 1.0, False),
        ("max_loss", None, 0.8, 0.45, False),
        ("max_loss", math.nan, 0.8, 0.45, False),
        ("max_loss", math.inf, 0.8, 0.45, False),
    ],
)
def test_limit_checks(
    gate: str, loss: float | None, ne: float | None, threshold: float, passed: bool
) -> None:
    check = only(gated(document({"prob": metrics(loss, ne=ne)}), **{gate: threshold}))
    value = loss if gate == "max_loss" else ne
    expected_value = value if value is not None and math.isfinite(value) else None
    assert check == {
        "name": gate,
        "column": "prob",
        "group": None,
        "value": expected_value,
        "threshold": threshold,
        "baseline": None,
        "delta": None,
        "passed": passed,
    }


# --- max_increase --------------------------------------------------------------------------

B = 0.465  # the baseline's loss in most cases below
SE = 0.003  # baseline's SE; this run's is 0.004, so SE of the difference is 0.005


@pytest.mark.parametrize(
    "spec, base, base_se, now, now_se, threshold, passed",
    [
        # absolute: threshold = baseline + D
        ("0.002", B, SE, 0.4712, 0.004, B + 0.002, False),
        ("0.002", B, SE, 0.466, 0.004, B + 0.002, True),
        ("0.002", B, SE, B + 0.002, 0.004, B + 0.002, True),
        ("0.002", B, SE, math.nextafter(B + 0.002, UP), 0.004, B + 0.002, False),
        ("0.002", B, SE, 0.40, 0.004, B + 0.002, True),  # an improvement passes
        ("0", B, SE, B, 0.004, B, True),
        ("0", B, SE, math.nextafter(B, UP), 0.004, B, False),
        # threshold computed once in float64 (0.1 + 0.2 is 0.30000000000000004):
        ("0.2", 0.1, SE, 0.3, 0.004, 0.1 + 0.2, True),
        ("0.2", 0.1, SE, 0.1 + 0.2, 0.004, 0.1 + 0.2, True),
        ("0.2", 0.1, SE, math.nextafter(0.1 + 0.2, UP), 0.004, 0.1 + 0.2, False),
        # relative: threshold = baseline * (1 + pct)
        ("1%", 0.5, SE, 0.505, 0.004, 0.5 + 0.5 * 0.01, True),
        ("1%", 0.5, SE, 0.5051, 0.004, 0.5 + 0.5 * 0.01, False),
        ("10%", B, SE, 0.5, 0.004, B + B * 0.1, True),
        # a zero baseline: any percentage of 0 is 0, so only a loss of 0 passes
        ("1%", 0.0, SE, 0.0, 0.004, 0.0, True),
        ("1%", 0.0, SE, 5e-324, 0.004, 0.0, False),
        ("1%", 0.0, SE, 1e-9, 0.004, 0.0, False),
        # se: threshold = baseline + k * sqrt(se_now^2 + se_baseline^2) = 0.465 + 2 * 0.005
        ("2se", B, SE, 0.4749, 0.004, B + 2 * math.hypot(0.004, SE), True),
        ("2se", B, SE, 0.4751, 0.004, B + 2 * math.hypot(0.004, SE), False),
        ("1se", B, 0.0, 0.466, 0.0, B, False),  # no noise at all: any increase fails
        ("0se", B, None, B, None, B, True),  # 0se needs no SE
        ("0se", B, None, 0.466, None, B, False),
        # se undefined (one row on either side): no threshold; only no increase passes
        ("2se", B, None, 0.4651, 0.004, None, False),
        ("2se", B, SE, 0.4651, None, None, False),
        ("2se", B, SE, B, None, None, True),
        ("2se", B, None, 0.40, 0.004, None, True),
        ("2se", B, math.nan, 0.4651, 0.004, None, False),
    ],
)
def test_increase_checks(
    spec: str,
    base: float,
    base_se: float | None,
    now: float,
    now_se: float | None,
    threshold: float | None,
    passed: bool,
) -> None:
    baseline = document({"prob": metrics(base, se=base_se)})
    current = document({"prob": metrics(now, se=now_se)})
    check = only(gated(current, baseline_document=baseline, max_increase=spec))
    assert check == {
        "name": "max_increase",
        "column": "prob",
        "group": None,
        "value": now,
        "threshold": threshold,
        "baseline": base,
        "delta": now - base,
        "passed": passed,
    }
    if threshold is not None:
        # What the JSON shows is what was compared.
        assert check["passed"] == (check["value"] <= check["threshold"])


@pytest.mark.parametrize("loss", [None, math.nan])
def test_increase_with_undefined_loss_fails(loss: float | None) -> None:
    baseline = document({"prob": metrics(0.4)})
    check = only(
        gated(document({"prob": metrics(loss)}), baseline_document=baseline, max_increase="1")
    )
    assert check["passed"] is False
    assert (check["value"], check["delta"], check["baseline"]) == (None, None, 0.4)


def test_increase_takes_a_parsed_increase() -> None:
    baseline = document({"prob": metrics(0.4)})
    gate = evaluate(
        document({"prob": metrics(0.41)}),
        baseline_document=baseline,
        max_increase=Increase("absolute", 0.02, "0.02"),
    )
    assert gate["passed"] is True


# --- several columns, several gates, groups ------------------------------------------------


def test_every_check_of_every_column_is_evaluated_in_order() -> None:
    doc = document({"prob": metrics(0.47, ne=0.76), "model_b": metrics(0.52, ne=1.1)})
    baseline = document({"model_b": metrics(0.5), "prob": metrics(0.4), "other": metrics(0.1)})
    gate = gated(doc, max_loss=0.5, max_ne=1.0, baseline_document=baseline, max_increase="0.01")
    assert [(c["name"], c["column"], c["passed"]) for c in gate["checks"]] == [
        ("max_loss", "prob", True),
        ("max_ne", "prob", True),
        ("max_increase", "prob", False),  # 0.47 > 0.4 + 0.01: matched by name, not position
        ("max_loss", "model_b", False),
        ("max_ne", "model_b", False),
        ("max_increase", "model_b", False),
    ]
    assert gate["passed"] is False
    assert failure_lines(gate, max_increase="0.01") == [
        "prob: log_loss 0.47 > baseline 0.4 + 0.01 = 0.41 (max-increase 0.01)",
        "model_b: log_loss 0.52 > max-loss 0.5",
        "model_b: normalized_entropy 1.1 > max-ne 1",
        "model_b: log_loss 0.52 > baseline 0.5 + 0.01 = 0.51 (max-increase 0.01)",
    ]


def test_groups_are_gated_only_with_gate_groups() -> None:
    doc = document(
        {"prob": metrics(0.47)},
        {"web": {"prob": metrics(0.44)}, "mobile": {"prob": metrics(0.51)}},
    )
    assert [c["group"] for c in gated(doc, max_loss=0.5)["checks"]] == [None]
    gate = gated(doc, max_loss=0.5, gate_groups=True)
    assert [(c["group"], c["passed"]) for c in gate["checks"]] == [
        (None, True),
        ({"segment": "web"}, True),
        ({"segment": "mobile"}, False),
    ]
    assert failure_lines(gate) == ["segment=mobile: log_loss 0.51 > max-loss 0.5"]


def test_gate_groups_without_groups_gates_all_rows_only() -> None:
    assert len(gated(document(), max_loss=1.0, gate_groups=True)["checks"]) == 1


def test_groups_matched_by_key_new_and_gone() -> None:
    baseline = document(
        {"prob": metrics(0.46)},
        {"web": {"prob": metrics(0.45)}, "gone": {"prob": metrics(0.1)}},
    )
    current = document(
        {"prob": metrics(0.47)},
        {"new": {"prob": metrics(0.9)}, "web": {"prob": metrics(0.455)}},
    )
    gate = gated(current, baseline_document=baseline, max_increase="0.02", gate_groups=True)
    checks = {None if c["group"] is None else c["group"]["segment"]: c for c in gate["checks"]}
    # A group gone since the baseline has nothing to gate; a new one is listed, not gated.
    assert list(checks) == [None, "new", "web"]
    assert checks["new"] == {
        "name": "max_increase",
        "column": "prob",
        "group": {"segment": "new"},
        "value": 0.9,
        "threshold": None,
        "baseline": None,
        "delta": None,
        "passed": True,
    }
    assert checks["web"]["baseline"] == 0.45
    assert checks["web"]["threshold"] == 0.45 + 0.02
    assert gate["passed"] is True
    assert failure_lines(gate) == []


def test_group_with_no_loss_in_the_baseline_is_new() -> None:
    baseline = document({"prob": metrics(0.46)}, {"web": {"prob": metrics(None, se=None)}})
    current = document({"prob": metrics(0.46)}, {"web": {"prob": metrics(0.9)}})
    gate = gated(current, baseline_document=baseline, max_increase="0", gate_groups=True)
    assert gate["checks"][1]["baseline"] is None
    assert gate["passed"] is True


def test_group_keys_match_across_json_types() -> None:
    # This run's document may hold a date object where the baseline, read from JSON, holds text.
    day = datetime.date(2024, 1, 31)
    current = document({"prob": metrics(0.5)}, {"x": {"prob": metrics(0.5)}}, by="day")
    current["groups"][0]["key"] = {"day": day}
    baseline = document({"prob": metrics(0.5)}, {"2024-01-31": {"prob": metrics(0.3)}}, by="day")
    gate = evaluate(current, baseline_document=baseline, max_increase="0.1", gate_groups=True)
    assert gate["checks"][1]["baseline"] == 0.3
    assert gate["checks"][1]["passed"] is False


def test_group_lines_name_column_and_group_when_several_columns() -> None:
    doc = document(
        {"prob": metrics(0.4), "model_b": metrics(0.4)},
        {"web": {"prob": metrics(0.4), "model_b": metrics(0.6)}},
    )
    gate = gated(doc, max_loss=0.5, gate_groups=True)
    assert failure_lines(gate) == ["model_b, segment=web: log_loss 0.6 > max-loss 0.5"]


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "baseline, message",
    [
        (document(schema="bce.report/2"), "'bce.report/2' report"),
        ({"schema": None}, "None"),
        (document(eps=1e-7), "eps 1e-07 and this run with eps 2.220446049250313e-16"),
        (document(label="y"), "label column is 'y' and this run's is 'label'"),
        (document({"model_b": metrics(0.4)}), "no column 'prob' \\(it has 'model_b'\\)"),
        (document({"prob": metrics(None)}), "no log loss for column 'prob'"),
        ({"schema": "bce.report/1"}, "not a complete bce report"),
        ({**document(), "models": [{"column": "prob"}]}, "not a complete bce report"),
        ([1, 2], "not a bce report"),
    ],
)
def test_baseline_refused(baseline: Any, message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        evaluate(document(), baseline_document=baseline, max_increase="0.01")


def test_baseline_missing_any_column_is_refused() -> None:
    doc = document({"prob": metrics(0.4), "model_b": metrics(0.4), "model_c": metrics(0.4)})
    with pytest.raises(BaselineError, match="no column 'model_b', 'model_c'"):
        evaluate(doc, baseline_document=document(), max_increase="0.01")


@pytest.mark.parametrize(
    "baseline_groups, by, message",
    [
        (None, "segment", "baseline is not grouped"),
        ({"web": {"prob": metrics(0.4)}}, "region", "grouped by region and this run .* segment"),
    ],
)
def test_baseline_grouped_otherwise_is_refused_for_group_gates(
    baseline_groups: Any, by: str, message: str
) -> None:
    current = document({"prob": metrics(0.4)}, {"web": {"prob": metrics(0.4)}})
    baseline = document({"prob": metrics(0.4)}, baseline_groups, by=by)
    with pytest.raises(BaselineError, match=message):
        evaluate(current, baseline_document=baseline, max_increase="1%", gate_groups=True)
    # Without --gate-groups the groups are not compared, so nothing is refused.
    assert evaluate(current, baseline_document=baseline, max_increase="1%")["passed"]


@pytest.mark.parametrize("options", [{"baseline_document": document()}, {"max_increase": "0.01"}])
def test_baseline_and_increase_go_together(options: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="go together"):
        evaluate(document(), **options)


# --- failure lines -------------------------------------------------------------------------


def check(name: str, value: Any, threshold: Any, baseline: Any = None) -> dict[str, Any]:
    delta = None if value is None or baseline is None else value - baseline
    return {
        "name": name,
        "column": "prob",
        "group": None,
        "value": value,
        "threshold": threshold,
        "baseline": baseline,
        "delta": delta,
        "passed": False,
    }


@pytest.mark.parametrize(
    "failed, spec, line",
    [
        (check("max_loss", 0.4712, 0.45), None, "log_loss 0.4712 > max-loss 0.45"),
        (check("max_ne", 1.02, 1.0), None, "normalized_entropy 1.02 > max-ne 1"),
        # printed alike at 4 digits: more digits until they differ
        (check("max_loss", 0.45000001, 0.45), None, "log_loss 0.45000001 > max-loss 0.45"),
        (
            check("max_loss", math.nextafter(0.45, UP), 0.45),
            None,
            "log_loss 0.4500000000000001 > max-loss 0.45",
        ),
        (
            check("max_ne", math.nextafter(1.0, UP), 1.0),
            None,
            "normalized_entropy 1.0000000000000002 > max-ne 1",
        ),
        (
            check("max_increase", 0.4712, 0.467, 0.465),
            "0.002",
            "log_loss 0.4712 > baseline 0.465 + 0.002 = 0.467 (max-increase 0.002)",
        ),
        (
            check("max_increase", 0.4712, 0.467, 0.465),
            None,
            "log_loss 0.4712 > baseline 0.465 + 0.002 = 0.467 (max-increase)",
        ),
        (
            check("max_increase", 0.46700001, 0.467, 0.465),
            Increase("relative", 0.0043, "0.43%"),
            "log_loss 0.46700001 > baseline 0.465 + 0.002 = 0.467 (max-increase 0.43%)",
        ),
        (
            check("max_increase", 0.4650002, 0.4650001, 0.4650001),
            "0",
            "log_loss 0.4650002 > baseline 0.4650001 + 0 = 0.4650001 (max-increase 0)",
        ),
        (
            check("max_ne", None, 1.0),
            None,
            "normalized_entropy is undefined (the base rate is 0 or 1), so it cannot pass max-ne 1",
        ),
        (
            check("max_loss", None, 0.45),
            None,
            "log_loss is undefined (no weight), so it cannot pass max-loss 0.45",
        ),
        (
            check("max_increase", None, 0.467, 0.465),
            "0.002",
            "log_loss is undefined (no weight), so it cannot be compared with baseline 0.465 "
            "(max-increase 0.002)",
        ),
        (
            check("max_increase", 0.4651, None, 0.465),
            "2se",
            "log_loss 0.4651 > baseline 0.465 (max-increase 2se: the standard error needs "
            "2 rows or more on both sides)",
        ),
    ],
)
def test_failure_lines(failed: dict[str, Any], spec: Any, line: str) -> None:
    assert failure_lines({"passed": False, "checks": [failed]}, max_increase=spec) == [line]


def test_failure_lines_skip_passed_checks() -> None:
    gate = gated(document({"prob": metrics(0.4)}), max_loss=0.5, max_ne=1.0)
    assert failure_lines(gate) == []


def test_failure_line_group_with_missing_key_value() -> None:
    failed = {**check("max_loss", 0.6, 0.5), "group": {"segment": None, "region": "eu"}}
    assert failure_lines({"passed": False, "checks": [failed]}) == [
        "segment=(missing), region=eu: log_loss 0.6 > max-loss 0.5"
    ]


# --- JUnit XML -----------------------------------------------------------------------------


def test_junit_structure() -> None:
    baseline = document({"prob": metrics(0.46)}, {"web": {"prob": metrics(0.45)}})
    doc = document(
        {"prob": metrics(0.47)},
        {"web": {"prob": metrics(0.5)}, "new<&>\x01": {"prob": metrics(0.4)}},
    )
    doc["gate"] = gated(
        doc, max_loss=0.48, baseline_document=baseline, max_increase="0.02", gate_groups=True
    )
    root = ET.fromstring(render_junit(doc, max_increase="0.02"))
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.tag == "testsuite"
    assert {k: suite.get(k) for k in ("name", "tests", "failures", "errors", "skipped")} == {
        "name": "bce",
        "tests": "6",
        "failures": "2",
        "errors": "0",
        "skipped": "1",
    }
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [
        "max_loss[prob]",
        "max_increase[prob]",
        "max_loss[prob, segment=web]",
        "max_increase[prob, segment=web]",
        "max_loss[prob, segment=new<&>\\x01]",  # XML cannot hold \x01 even escaped
        "max_increase[prob, segment=new<&>\\x01]",
    ]
    assert {case.get("classname") for case in cases} == {"bce.gate"}
    failures = {case.get("name"): case.find("failure") for case in cases}
    assert [name for name, failure in failures.items() if failure is not None] == [
        "max_loss[prob, segment=web]",
        "max_increase[prob, segment=web]",
    ]
    failure = failures["max_loss[prob, segment=web]"]
    assert failure is not None
    # The line the CLI prints on stderr for this check.
    assert failure.get("message") == "segment=web: log_loss 0.5 > max-loss 0.48"
    assert "value: 0.5\nthreshold: 0.48\n" in (failure.text or "")
    failure = failures["max_increase[prob, segment=web]"]
    assert failure is not None
    assert failure.get("message") == (
        "segment=web: log_loss 0.5 > baseline 0.45 + 0.02 = 0.47 (max-increase 0.02)"
    )
    skipped = [case for case in cases if case.find("skipped") is not None]
    assert [case.get("name") for case in skipped] == ["max_increase[prob, segment=new<&>\\x01]"]


def test_junit_without_gate_is_an_empty_suite() -> None:
    suite = ET.fromstring(render_junit(document()))[0]
    assert (suite.get("tests"), suite.get("failures"), len(suite)) == ("0", "0", 0)
