"""The report document's keys are spelled once, in bcecli.document (and bcecli.core.entries).

The shipped JSON Schema names the same keys in the same order as the TypedDicts, and a
real report carries exactly those keys in that order, so strict mypy over the TypedDicts
also guards the JSON document and its schema.
"""

from __future__ import annotations

from typing import Any

import pytest

from bcecli.document import (
    METRIC_KEYS,
    SCHEMA,
    CalibrationBin,
    Check,
    ColumnsEntry,
    Document,
    Gate,
    GroupEntry,
    InputEntry,
    LossHistogram,
    Metrics,
    ModelCalibration,
    ModelEntry,
    PairedDiff,
    SettingsEntry,
    WorstEntry,
)
from bcecli.gate import CHECK_NAMES
from bcecli.report.jsonout import load_schema

from conftest import SAMPLE


def keys(typed: Any) -> list[str]:
    """A TypedDict's keys in declaration order, which is the JSON document's key order."""
    return list(typed.__annotations__)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_schema()


def test_metric_keys_are_the_metrics_typeddict() -> None:
    assert list(METRIC_KEYS) == keys(Metrics)
    assert Metrics.__required_keys__ == frozenset(METRIC_KEYS)


def test_schema_metrics_are_the_metric_keys(schema: dict[str, Any]) -> None:
    metrics = schema["$defs"]["metrics"]
    assert list(metrics["properties"]) == list(METRIC_KEYS)
    assert metrics["required"] == list(METRIC_KEYS)


def test_schema_objects_are_the_typeddicts(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    defs = schema["$defs"]
    gate = next(option for option in properties["gate"]["oneOf"] if option["type"] == "object")
    paired = next(
        option
        for option in defs["model"]["properties"]["paired_diff"]["oneOf"]
        if option["type"] == "object"
    )
    objects = {
        "document": (schema, Document),
        "inputs": (properties["inputs"]["items"], InputEntry),
        "columns": (properties["columns"], ColumnsEntry),
        "settings": (properties["settings"], SettingsEntry),
        "groups": (properties["groups"]["items"], GroupEntry),
        "calibration": (defs["calibration_bin"], CalibrationBin),
        "calibration_by_model": (properties["calibration_by_model"]["items"], ModelCalibration),
        "loss_histogram": (properties["loss_histogram"]["items"], LossHistogram),
        "worst": (properties["worst"]["items"], WorstEntry),
        "gate": (gate, Gate),
        "model": (defs["model"], ModelEntry),
        "paired_diff": (paired, PairedDiff),
        "check": (defs["check"], Check),
    }
    for name, (node, typed) in objects.items():
        assert list(node["properties"]) == keys(typed), name
        assert sorted(node["required"]) == sorted(keys(typed)), name
    assert properties["schema"]["const"] == SCHEMA
    assert defs["check"]["properties"]["name"]["enum"] == list(CHECK_NAMES)


def test_a_full_report_has_the_typed_keys_in_order(bce: Any) -> None:
    run = bce(
        "score", SAMPLE / "preds.csv", "-p", "prob", "-p", "model_b", "--weight", "weight",
        "--by", "segment", "--calibration", "4", "--worst", "2", "--keep", "id",
        "--max-loss", "0.5", "--gate-groups", "--format", "json",
    )  # fmt: skip
    document = run.json()
    assert list(document) == keys(Document)
    pairs: list[tuple[dict[str, Any], Any]] = [
        (document["columns"], ColumnsEntry),
        (document["settings"], SettingsEntry),
        (document["metrics"], Metrics),
        (document["gate"], Gate),
    ]
    pairs += [(entry, InputEntry) for entry in document["inputs"]]
    pairs += [(entry, CalibrationBin) for entry in document["calibration"]]
    for entry in document["calibration_by_model"]:
        pairs += [(entry, ModelCalibration)] + [(item, CalibrationBin) for item in entry["bins"]]
    pairs += [(entry, LossHistogram) for entry in document["loss_histogram"]]
    pairs += [(entry, WorstEntry) for entry in document["worst"]]
    pairs += [(check, Check) for check in document["gate"]["checks"]]
    for group in document["groups"]:
        pairs += [(group, GroupEntry), (group["metrics"], Metrics)]
    for model in document["models"] + [m for g in document["groups"] for m in g["models"]]:
        pairs += [(model, ModelEntry), (model["metrics"], Metrics)]
        if model["paired_diff"] is not None:
            pairs.append((model["paired_diff"], PairedDiff))
    for entry, typed in pairs:
        assert list(entry) == keys(typed), typed.__name__
    assert {typed for _, typed in pairs} >= {CalibrationBin, WorstEntry, Check, PairedDiff}
