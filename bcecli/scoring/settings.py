"""How to score: everything but the inputs, checked once when made."""

from __future__ import annotations

from dataclasses import dataclass, field

from bcecli.core.batch import StateConfig
from bcecli.core.loss import DEFAULT_EPS
from bcecli.errors import UsageError
from bcecli.io.columns import Columns, ColumnSpec

DEFAULT_CHUNK_SIZE = 100_000
ON_INVALID = ("error", "skip")


@dataclass(frozen=True)
class Settings:
    """How to score: everything but the inputs."""

    columns: ColumnSpec = field(default_factory=ColumnSpec)
    eps: float = DEFAULT_EPS
    on_invalid: str = "error"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    pos_label: str | None = None
    no_header: bool = False
    calibration: int | None = None
    worst: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.eps < 0.5:
            raise UsageError(f"--eps must be greater than 0 and less than 0.5, not {self.eps!r}.")
        if self.on_invalid not in ON_INVALID:
            raise UsageError("--on-invalid must be 'error' or 'skip'.")
        if self.chunk_size < 1:
            raise UsageError("--chunk-size must be a positive number of rows.")
        if self.calibration is not None and self.calibration < 1:
            raise UsageError("--calibration needs at least 1 bin.")
        if self.worst < 0:
            raise UsageError("--worst must be 0 or more.")

    def state_config(self, columns: Columns) -> StateConfig:
        """What a scoring state of these settings, over these columns, accumulates."""
        return StateConfig(
            n_models=len(columns.predictions),
            by=columns.by,
            calibration_bins=self.calibration,
            worst=self.worst,
        )
