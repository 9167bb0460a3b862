"""The entries core's numbers leave in: the metrics, paired difference, calibration bin and
worst row objects of the report document (SPEC section 6), typed once.

Standard library only, so the document types (bcecli.document) and the gate can name
them without importing numpy. Key order is the JSON document's key order: a TypedDict
built with these keys in this order serialises exactly as the report always has.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Metrics(TypedDict):
    """SPEC section 4: one probability column over some rows."""

    rows: int
    skipped: int
    weight_sum: float
    positives: float
    base_rate: float | None
    mean_prob: float | None
    log_loss: float | None
    log_loss_se: float | None
    normalized_entropy: float | None
    brier: float | None
    clipped: int
    ece: float | None  # always present; set on the first column's metrics with --calibration


# The metric names in report order, from the TypedDict itself so they cannot drift apart.
METRIC_KEYS: tuple[str, ...] = tuple(Metrics.__annotations__)


class PairedDiff(TypedDict):
    """Mean and SE of (this column's loss - the first column's loss), row by row."""

    mean: float | None
    se: float | None


class CalibrationBin(TypedDict):
    lower: float
    upper: float
    rows: int
    weight: float
    mean_prob: float | None
    observed_rate: float | None


class WorstEntry(TypedDict):
    path: str
    row: int
    label: int
    prob: float
    log_loss: float
    keep: dict[str, Any]
