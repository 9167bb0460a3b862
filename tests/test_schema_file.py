"""The shipped JSON Schema of the `bce score --format json` report (SPEC section 6).

These tests check the schema file itself against hand-written documents; they
do not run bce. The schema is loaded by path relative to this file so the
tests work whether or not the bcecli package is importable/installed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent
    / "bcecli"
    / "report"
    / "schema"
    / "bce.report-1.schema.json"
)


def _metrics(
    rows: int,
    log_loss: float,
    *,
    base_rate: float = 0.3,
    ece: float | None = 0.0123,
) -> dict[str, Any]:
    return {
        "rows": rows,
        "skipped": 0,
        "weight_sum": float(rows),
        "positives": round(rows * base_rate, 1),
        "base_rate": base_rate,
        "mean_prob": 0.301,
        "log_loss": log_loss,
        "log_loss_se": 0.0042,
        "normalized_entropy": 0.83,
        "brier": 0.162,
        "clipped": 0,
        "ece": ece,
    }


CALIBRATION_BINS: list[dict[str, Any]] = [
    {
        "lower": 0.0,
        "upper": 0.5,
        "rows": 7000,
        "weight": 7000.0,
        "mean_prob": 0.2,
        "observed_rate": 0.21,
    },
    {
        "lower": 0.5,
        "upper": 1.0,
        "rows": 3000,
        "weight": 3000.0,
        "mean_prob": None,
        "observed_rate": None,
    },
]

EXAMPLE: dict[str, Any] = {
    "schema": "bce.report/1",
    "bce_version": "0.1.0",
    "inputs": [
        {"path": "sample_data/preds.csv", "format": "csv", "rows": 10000, "skipped": 0},
        {"path": "-", "format": "parquet", "rows": 0, "skipped": 0},
    ],
    "columns": {"label": "label", "prob": ["prob", "model_b"], "logit": None, "weight": None},
    "settings": {"eps": 2.220446049250313e-16, "on_invalid": "error", "chunk_size": 65536},
    "metrics": _metrics(10000, 0.5071),
    "models": [
        {"column": "prob", "metrics": _metrics(10000, 0.5071), "paired_diff": None},
        {
            "column": "model_b",
            "metrics": _metrics(10000, 0.5312),
            "paired_diff": {"mean": 0.0241, "se": 0.0017},
        },
    ],
    "groups": [
        {
            "key": {"segment": "web"},
            "metrics": _metrics(4000, 0.49),
            "models": [
                {"column": "prob", "metrics": _metrics(4000, 0.49), "paired_diff": None},
                {
                    "column": "model_b",
                    "metrics": _metrics(4000, 0.515),
                    "paired_diff": {"mean": 0.025, "se": None},
                },
            ],
        }
    ],
    "calibration": copy.deepcopy(CALIBRATION_BINS),
    "calibration_by_model": [
        {"column": column, "bins": copy.deepcopy(CALIBRATION_BINS)}
        for column in ("prob", "model_b")
    ],
    "loss_histogram": [
        {
            "column": column,
            "edges": [1e-6, 0.01, 1.0, 100.0],
            "rows": [0, 4000, 5000, 1000, 0],
            "weight": [0.0, 4000.0, 5000.0, 1000.0, 0.0],
        }
        for column in ("prob", "model_b")
    ],
    "worst": [
        {
            "path": "sample_data/preds.csv",
            "row": 1204,
            "label": 1,
            "prob": 2.220446049250313e-16,
            "log_loss": 36.04365338911715,
            "keep": {"id": 1204, "segment": "web", "flag": True, "note": None},
        }
    ],
    "gate": {
        "passed": False,
        "checks": [
            {
                "name": "max_increase",
                "column": "prob",
                "group": None,
                "value": 0.5071,
                "threshold": 0.5045,
                "baseline": 0.5025,
                "delta": 0.0046,
                "passed": False,
            }
        ],
    },
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_packaged_resource_matches_file() -> None:
    try:
        from importlib.resources import files

        resource = files("bcecli") / "report/schema/bce.report-1.schema.json"
        text = resource.read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError, ModuleNotFoundError) as exc:
        pytest.skip(f"bcecli package resource not available: {exc}")
    assert json.loads(text) == json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def test_every_property_has_a_description(schema: dict[str, Any]) -> None:
    missing: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{where}/{name}")
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}")

    walk(schema, "#")
    assert missing == []


def test_fixed_key_objects_are_closed_and_fully_required(schema: dict[str, Any]) -> None:
    problems: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                if node.get("additionalProperties") is not False:
                    problems.append(f"{where}: additionalProperties is not false")
                if sorted(node.get("required", [])) != sorted(node["properties"]):
                    problems.append(f"{where}: not every key is required")
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}")

    walk(schema, "#")
    assert problems == []


def test_complete_example_is_valid(validator: Draft202012Validator) -> None:
    errors = [e.message for e in validator.iter_errors(EXAMPLE)]
    assert errors == []


def test_minimal_report_is_valid(validator: Draft202012Validator) -> None:
    doc = copy.deepcopy(EXAMPLE)
    doc["columns"] = {"label": "y", "prob": [], "logit": "z", "weight": "w"}
    doc["models"] = [{"column": "z", "metrics": _metrics(1, 0.1, ece=None), "paired_diff": None}]
    doc["metrics"] = _metrics(1, 0.1, ece=None)
    doc["metrics"].update(base_rate=1.0, log_loss_se=None, normalized_entropy=None, mean_prob=None)
    doc["groups"] = []
    doc["calibration"] = []
    doc["calibration_by_model"] = []
    doc["worst"] = []
    doc["gate"] = None
    assert list(validator.iter_errors(doc)) == []


def test_example_round_trips_through_json(validator: Draft202012Validator) -> None:
    doc = json.loads(json.dumps(EXAMPLE, allow_nan=False))
    assert validator.is_valid(doc)


def _drop(*path: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(value: Any, *path: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "missing top-level key": _drop("calibration"),
    "missing metrics key": _drop("metrics", "ece"),
    "missing calibration by model": _drop("calibration_by_model"),
    "missing model calibration column": _drop("calibration_by_model", 0, "column"),
    "calibration bin above 1": _set(1.5, "calibration_by_model", 0, "bins", 0, "upper"),
    "missing loss histogram": _drop("loss_histogram"),
    "missing histogram weights": _drop("loss_histogram", 0, "weight"),
    "negative histogram rows": _set([0, -1, 0, 0, 0], "loss_histogram", 0, "rows"),
    "zero histogram edge": _set([0.0, 1.0], "loss_histogram", 1, "edges"),
    "missing group models": _drop("groups", 0, "models"),
    "missing check key": _drop("gate", "checks", 0, "delta"),
    "extra top-level key": _set(1, "extra"),
    "extra settings key": _set(4, "settings", "threads"),
    "extra metrics key in a model": _set(0.5, "models", 1, "metrics", "auc"),
    "label 2 in worst": _set(2, "worst", 0, "label"),
    "boolean label in worst": _set(True, "worst", 0, "label"),
    "row 0 in worst": _set(0, "worst", 0, "row"),
    "wrong schema const": _set("bce.report/2", "schema"),
    "negative rows in metrics": _set(-1, "metrics", "rows"),
    "negative rows in inputs": _set(-5, "inputs", 0, "rows"),
    "fractional rows": _set(1.5, "metrics", "rows"),
    "unknown input format": _set("json", "inputs", 0, "format"),
    "unknown on_invalid": _set("ignore", "settings", "on_invalid"),
    "chunk_size 0": _set(0, "settings", "chunk_size"),
    "unknown gate check": _set("min_auc", "gate", "checks", 0, "name"),
    "string log_loss": _set("0.5", "metrics", "log_loss"),
    "gate missing checks": _set({"passed": True}, "gate"),
    "empty models": _set([], "models"),
    "paired_diff extra key": _set({"mean": 0.1, "se": 0.1, "n": 3}, "models", 1, "paired_diff"),
    "groups is null": _set(None, "groups"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_document_is_invalid(validator: Draft202012Validator, mutation: str) -> None:
    doc = copy.deepcopy(EXAMPLE)
    MUTATIONS[mutation](doc)
    assert not validator.is_valid(doc), mutation
