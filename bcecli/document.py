"""The report document (``bce.report/1``, as ``--format json`` prints it): its name and shape.

Neutral ground between the gate and the report: bcecli.gate reads documents and writes
their ``gate`` object, bcecli.report builds and renders them, and both import the shape
from here rather than from each other. Standard library and numpy-free core modules only.

Every object is a TypedDict whose keys are declared in the JSON document's key order, so
a document built from them serialises byte for byte as before; tests/test_document.py
checks the keys against the shipped JSON Schema.
"""

from __future__ import annotations

from typing import Any, Final, TypedDict

from bcecli.core.entries import (
    CalibrationBin,
    LossHistogram,
    ModelCalibration,
    PairedDiff,
    WorstEntry,
)
from bcecli.core.metrics import METRIC_KEYS, Metrics

__all__ = [
    "METRIC_KEYS",
    "SCHEMA",
    "CalibrationBin",
    "Check",
    "CheckName",
    "ColumnsEntry",
    "Document",
    "Gate",
    "GroupEntry",
    "GroupKey",
    "InputEntry",
    "LossHistogram",
    "Metrics",
    "ModelCalibration",
    "ModelEntry",
    "PairedDiff",
    "SettingsEntry",
    "WorstEntry",
]

# Schema history: 1 — first version; loss_histogram and calibration_by_model added (an
# added key breaks no reader).
SCHEMA: Final = "bce.report/1"

# A group's values of the --by columns, by column name: any scalar a column holds
# (a date from Parquet, None for a missing value).
GroupKey = dict[str, Any]

CheckName = str  # one of bcecli.gate.CHECK_NAMES (the schema's enum; a test checks)


class InputEntry(TypedDict):
    path: str
    format: str
    rows: int
    skipped: int


class ColumnsEntry(TypedDict):
    label: str
    prob: list[str]
    logit: str | None
    weight: str | None


class SettingsEntry(TypedDict):
    eps: float
    on_invalid: str
    chunk_size: int


class ModelEntry(TypedDict):
    column: str
    metrics: Metrics
    paired_diff: PairedDiff | None  # None for the first column


class GroupEntry(TypedDict):
    key: GroupKey
    metrics: Metrics  # the first column's, as in the group's models[0]
    models: list[ModelEntry]


class Check(TypedDict):
    name: CheckName
    column: str
    group: GroupKey | None  # None: all rows
    value: float | None
    threshold: float | None
    baseline: float | None
    delta: float | None
    passed: bool


class Gate(TypedDict):
    passed: bool
    checks: list[Check]


class Document(TypedDict):
    schema: str
    bce_version: str
    inputs: list[InputEntry]
    columns: ColumnsEntry
    settings: SettingsEntry
    metrics: Metrics  # the first column's, as in models[0]
    models: list[ModelEntry]
    groups: list[GroupEntry]
    calibration: list[CalibrationBin]  # the first column's, as calibration_by_model[0]
    calibration_by_model: list[ModelCalibration]  # one per prediction column, or none
    loss_histogram: list[LossHistogram]  # one per prediction column, in models' order
    worst: list[WorstEntry]
    gate: Gate | None
