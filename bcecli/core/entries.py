"""The entries core's numbers leave in: the paired difference, calibration bin, loss
histogram and worst row objects of the report document (``bce.report/1``), typed once
(the metrics object is typed beside its formulas, in bcecli.core.metrics).

Standard library only, so the document types (bcecli.document) and the gate can name
them without importing numpy. Key order is the JSON document's key order: a TypedDict
built with these keys in this order serialises exactly as the report always has.
"""

from __future__ import annotations

from typing import Any, TypedDict


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


class ModelCalibration(TypedDict):
    """One prediction column's reliability bins (``--calibration N``)."""

    column: str
    bins: list[CalibrationBin]


class LossHistogram(TypedDict):
    """One column's per-row losses in fixed log-spaced bins: ``rows`` and ``weight`` hold
    one more entry than ``edges``, the first bin [0, edges[0]), the last [edges[-1], inf)."""

    column: str
    edges: list[float]
    rows: list[int]
    weight: list[float]


class WorstEntry(TypedDict):
    path: str
    row: int
    label: int
    prob: float
    log_loss: float
    keep: dict[str, Any]
