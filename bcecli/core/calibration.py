"""Reliability bins over p in [0, 1] and the expected calibration error, from exact sums."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bcecli.core.batch import Batch, StateConfig
from bcecli.core.entries import CalibrationBin
from bcecli.core.exact import ExactSum, ratio
from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bcecli.core import exactsum

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]
else:
    np = lazy("numpy")
    exactsum = lazy("bcecli.core.exactsum")


if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it


@dataclass
class ModelBins:
    """One prediction column's reliability bins: rows and exact sums of w, w p and w y."""

    bins: int
    rows: list[int] = field(default_factory=list)
    weight: list[ExactSum] = field(default_factory=list)
    prob: list[ExactSum] = field(default_factory=list)
    positives: list[ExactSum] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.rows:
            self.rows = [0] * self.bins
            self.weight = [ExactSum() for _ in range(self.bins)]
            self.prob = [ExactSum() for _ in range(self.bins)]
            self.positives = [ExactSum() for _ in range(self.bins)]

    def add(self, p: FloatArray, y: BoolArray, w: FloatArray | None) -> None:
        # Bin i holds lower_i <= p < upper_i with the very edges the report prints
        # (i / bins): int(p * bins) would round p one ulp below an edge up into the
        # next bin. p = 1 falls in the last bin.
        edges = np.arange(self.bins + 1) / self.bins
        ids = np.searchsorted(edges, p, side="right").astype(np.intp) - 1
        np.clip(ids, 0, self.bins - 1, out=ids)
        counts = np.bincount(ids, minlength=self.bins)
        weights = np.ones(len(p)) if w is None else w
        for sums, values in (
            (self.weight, weights),
            (self.prob, p if w is None else w * p),
            (self.positives, np.where(y, weights, 0.0)),
        ):
            for total, part in zip(sums, exactsum.grouped_exact_sums(values, ids, self.bins)):
                total.add(part)
        for index, count in enumerate(counts.tolist()):
            self.rows[index] += count

    def merge(self, other: ModelBins) -> None:
        for index in range(self.bins):
            self.rows[index] += other.rows[index]
            self.weight[index].add(other.weight[index])
            self.prob[index].add(other.prob[index])
            self.positives[index].add(other.positives[index])

    def to_state(self) -> dict[str, Any]:
        return {
            "rows": list(self.rows),
            "weight": [total.to_state() for total in self.weight],
            "prob": [total.to_state() for total in self.prob],
            "positives": [total.to_state() for total in self.positives],
        }

    @classmethod
    def from_state(cls, bins: int, state: dict[str, Any]) -> ModelBins:
        def sums(name: str) -> list[ExactSum]:
            values = [ExactSum.from_state(item) for item in state[name]]
            if len(values) != bins:
                raise ValueError(f"calibration state: {len(values)} {name} sums, not {bins}")
            return values

        rows = [int(count) for count in state["rows"]]
        if len(rows) != bins:
            raise ValueError(f"calibration state: {len(rows)} bin counts, not {bins}")
        return cls(bins, rows, sums("weight"), sums("prob"), sums("positives"))

    def table(self) -> list[CalibrationBin]:
        return [
            {
                "lower": index / self.bins,
                "upper": (index + 1) / self.bins,
                "rows": self.rows[index],
                "weight": float(self.weight[index]),
                "mean_prob": ratio(self.prob[index], self.weight[index]),
                "observed_rate": ratio(self.positives[index], self.weight[index]),
            }
            for index in range(self.bins)
        ]

    def ece(self) -> float | None:
        """sum over bins of (bin weight / total weight) * |mean p - observed rate|."""
        total = ExactSum()
        for weight in self.weight:
            total.add(weight)
        total_weight = float(total)
        if not total_weight:
            return None
        error = 0.0
        for row in self.table():
            if row["mean_prob"] is None or row["observed_rate"] is None:
                continue
            error += row["weight"] / total_weight * abs(row["mean_prob"] - row["observed_rate"])
        return error


@dataclass
class CalibrationSums:
    """Reliability bins of every prediction column (``--calibration N``), in column order."""

    name: ClassVar[str] = "calibration"

    bins: int
    n_models: int = 1
    models: list[ModelBins] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.models:
            self.models = [ModelBins(self.bins) for _ in range(self.n_models)]

    @classmethod
    def create(cls, config: StateConfig) -> Self | None:
        if not config.calibration_bins:
            return None
        return cls(config.calibration_bins, config.n_models)

    def update(self, batch: Batch) -> None:
        if batch.rows:
            values = batch.values
            for model, p in zip(self.models, values.probs):
                model.add(p, values.y, values.weight)

    def add_bins(
        self,
        rows: list[int],
        weight: list[ExactSum],
        prob: list[ExactSum],
        positives: list[ExactSum],
    ) -> None:
        """Add per-bin rows and sums binned elsewhere (the C kernel's CSV fast path): every
        column's bins in turn, column m's from m * bins."""
        for index, model in enumerate(self.models):
            start = index * self.bins
            part = slice(start, start + self.bins)
            model.merge(ModelBins(self.bins, rows[part], weight[part], prob[part], positives[part]))

    def merge(self, other: Self) -> None:
        for model, theirs in zip(self.models, other.models, strict=True):
            model.merge(theirs)

    def to_state(self) -> dict[str, Any]:
        return {"bins": self.bins, "models": [model.to_state() for model in self.models]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        bins = int(state["bins"])
        models = [ModelBins.from_state(bins, item) for item in state["models"]]
        return cls(bins=bins, n_models=len(models), models=models)

    def tables(self) -> list[list[CalibrationBin]]:
        """Each column's bins, in column order."""
        return [model.table() for model in self.models]

    def eces(self) -> list[float | None]:
        """Each column's expected calibration error, in column order."""
        return [model.ece() for model in self.models]
