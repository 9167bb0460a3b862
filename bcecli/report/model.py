"""The report document (``bce.report/1``): built once, rendered as table, JSON, markdown or HTML.

The document's shape and schema name are in bcecli.document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bcecli._version import __version__
from bcecli.document import (
    SCHEMA,
    CalibrationBin,
    ColumnsEntry,
    Document,
    Gate,
    GroupEntry,
    InputEntry,
    LossHistogram,
    Metrics,
    ModelCalibration,
    ModelEntry,
    SettingsEntry,
    WorstEntry,
)

if TYPE_CHECKING:
    from bcecli.gate import Gates
    from bcecli.scoring.inputs import ScoreResult


@dataclass
class Report:
    """A scored population; ``to_dict()`` is exactly the CLI's JSON document."""

    inputs: list[InputEntry]
    columns: ColumnsEntry
    settings: SettingsEntry
    metrics: Metrics
    models: list[ModelEntry]
    groups: list[GroupEntry] = field(default_factory=list)
    calibration_by_model: list[ModelCalibration] = field(default_factory=list)
    loss_histogram: list[LossHistogram] = field(default_factory=list)
    worst: list[WorstEntry] = field(default_factory=list)
    gate: Gate | None = None

    @property
    def calibration(self) -> list[CalibrationBin]:
        """The first column's reliability bins (the JSON's ``calibration``)."""
        by_model = self.calibration_by_model
        return by_model[0]["bins"] if by_model else []

    @property
    def log_loss(self) -> float | None:
        return self.metrics["log_loss"]

    @property
    def passed(self) -> bool:
        """True unless a gate was asked for and failed."""
        return self.gate is None or self.gate["passed"]

    def apply_gates(self, gates: Gates) -> None:
        """Evaluate ``gates`` over this report into ``gate`` (left None when none is asked)."""
        self.gate = gates.evaluate(self.to_dict()) if gates.asked else None

    def to_html(self) -> str:
        """The report as one self-contained HTML page, as ``--format html`` writes it."""
        from bcecli.report.html import render_html

        return render_html(self.to_dict())

    def _repr_html_(self) -> str:
        """The same view in a notebook's output cell, without the page around it."""
        from bcecli.report.html import render_fragment

        return render_fragment(self.to_dict())

    def to_dict(self) -> Document:
        document: Document = {
            "schema": SCHEMA,
            "bce_version": __version__,
            "inputs": self.inputs,
            "columns": self.columns,
            "settings": self.settings,
            "metrics": self.metrics,
            "models": self.models,
            "groups": self.groups,
            "calibration": self.calibration,
            "calibration_by_model": self.calibration_by_model,
            "loss_histogram": self.loss_histogram,
            "worst": self.worst,
            "gate": self.gate,
        }
        # A copy of the same shape: only NaN and infinities change, to None.
        finite: Document = finite_or_none(document)
        return finite


def finite_or_none(value: Any) -> Any:
    """A copy with every NaN or infinity replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def build_report(result: ScoreResult) -> Report:
    """The report of a finished scoring pass."""
    from bcecli.core.metrics import model_metrics, paired_diff

    state = result.state
    columns = result.columns
    settings = result.settings
    skipped = state.skipped

    def models_of(group: Any, skipped_rows: int) -> list[ModelEntry]:
        return [
            {
                "column": name,
                "metrics": model_metrics(group, index, skipped=skipped_rows),
                "paired_diff": paired_diff(group, index),
            }
            for index, name in enumerate(columns.predictions)
        ]

    models = models_of(state.total, skipped)
    calibration_by_model: list[ModelCalibration] = []
    if state.calibration is not None:
        for model, bins, ece in zip(
            models, state.calibration.tables(), state.calibration.eces(), strict=True
        ):
            calibration_by_model.append({"column": model["column"], "bins": bins})
            model["metrics"]["ece"] = ece
    groups: list[GroupEntry] = []
    for key, group in sorted(
        state.groups.items(), key=lambda item: (-float(item[1].weight), _sortable(item[0]))
    ):
        group_models = models_of(group, 0)
        groups.append(
            {
                "key": dict(zip(columns.by, key)),
                "metrics": group_models[0]["metrics"],
                "models": group_models,
            }
        )
    worst = [] if state.worst is None else [row.to_dict() for row in state.worst.rows]
    return Report(
        inputs=[_input_entry(stats.to_dict()) for stats in result.inputs],
        columns={
            "label": columns.label,
            "prob": [] if columns.logit else list(columns.predictions),
            "logit": columns.predictions[0] if columns.logit else None,
            "weight": columns.weight,
        },
        settings={
            "eps": settings.eps,
            "on_invalid": settings.on_invalid,
            "chunk_size": settings.chunk_size,
        },
        metrics=models[0]["metrics"],
        models=models,
        groups=groups,
        calibration_by_model=calibration_by_model,
        loss_histogram=state.loss_histogram.table(list(columns.predictions)),
        worst=worst,
    )


def _input_entry(stats: Mapping[str, Any]) -> InputEntry:
    # bcecli.scoring hands out each input's counts as a plain dict; this is its typed entry.
    return {
        "path": stats["path"],
        "format": stats["format"],
        "rows": stats["rows"],
        "skipped": stats["skipped"],
    }


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((0, "") if part is None else (1, str(part)) for part in key)
