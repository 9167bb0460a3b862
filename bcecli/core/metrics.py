"""The report's metrics: the exact sums they are made of, their formulas, their keys.

One place per metric: ``MODEL_TERMS`` lists the per-row terms summed exactly for every
prediction column, ``Metrics`` the keys of the report's metrics object (in report
order), and ``model_metrics`` how each is finished from the sums, divisions correctly
rounded. No numpy here (``bcecli.core.accumulate`` computes the terms), so the report
document's types can name ``Metrics`` without importing it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, TypedDict

from bcecli.core.entries import PairedDiff
from bcecli.core.exact import ExactSum, ratio

if TYPE_CHECKING:
    from bcecli.core.accumulate import GroupSums
    from bcecli.core.terms import FloatArray, RowTerms

# The exact sums kept per prediction column: each the sum over the valid rows of a
# per-row term (w = 1 without weights; ``RowTerms`` shares what terms have in common).
MODEL_TERMS: dict[str, Callable[[RowTerms], FloatArray]] = {
    "loss": lambda r: r.weighted_loss,  # sum w l
    "loss_sq": lambda r: r.square(r.weighted_loss),  # sum (w l)^2, for the SE
    "loss_w": lambda r: r.weighted(r.weighted_loss),  # sum w (w l), for the SE
    "prob": lambda r: r.weighted(r.p),  # sum w p
    "brier": lambda r: r.weighted(r.error_sq),  # sum w (p - y)^2
}
# The same for the paired difference d = l - l_first, on every column but the first.
DIFF_TERMS: dict[str, Callable[[RowTerms], FloatArray]] = {
    "diff": lambda r: r.weighted_diff,
    "diff_sq": lambda r: r.square(r.weighted_diff),
    "diff_w": lambda r: r.weighted(r.weighted_diff),
}


class Metrics(TypedDict):
    """The metrics of one probability column over some rows (the report's metrics object)."""

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
    ece: float | None  # always present; null unless --calibration


# The metric names in report order, from the TypedDict itself so they cannot drift apart.
METRIC_KEYS: tuple[str, ...] = tuple(Metrics.__annotations__)


def standard_error(
    rows: int,
    total: ExactSum,
    total_sq: ExactSum,
    total_w: ExactSum,
    weight: ExactSum,
    weight_sq: ExactSum,
) -> float | None:
    """SE of a weighted mean: SE^2 = n/(n-1) * sum w^2 (x - mean)^2 / (sum w)^2.

    With u = w x per row: sum w^2 (x - m)^2 = sum u^2 - 2 m sum w u + m^2 sum w^2,
    evaluated exactly over the (exact) sums; None for one row or non-finite sums.
    """
    if rows < 2 or not all(s.finite for s in (total, total_sq, total_w, weight, weight_sq)):
        return None
    w = weight.fraction()
    if w == 0:
        return None
    mean = total.fraction() / w
    spread = (
        total_sq.fraction() - 2 * mean * total_w.fraction() + mean * mean * weight_sq.fraction()
    )
    spread = max(spread, Fraction(0))
    variance = Fraction(rows, rows - 1) * spread / (w * w)
    try:
        return math.sqrt(float(variance))
    except OverflowError:
        return None


def binary_entropy(rate: float) -> float | None:
    """Entropy (nats) of always predicting ``rate``; None where it is 0."""
    if not 0.0 < rate < 1.0:
        return None
    return -(rate * math.log(rate) + (1.0 - rate) * math.log1p(-rate))


def model_metrics(group: GroupSums, index: int = 0, *, skipped: int = 0) -> Metrics:
    """The metrics of prediction column ``index`` in one population."""
    model = group.models[index]
    base_rate = ratio(group.positives, group.weight)
    log_loss = ratio(model["loss"], group.weight)
    entropy = None if base_rate is None else binary_entropy(base_rate)
    return {
        "rows": group.rows,
        "skipped": skipped,
        "weight_sum": float(group.weight),
        "positives": float(group.positives),
        "base_rate": base_rate,
        "mean_prob": ratio(model["prob"], group.weight),
        "log_loss": log_loss,
        "log_loss_se": standard_error(
            group.rows,
            model["loss"],
            model["loss_sq"],
            model["loss_w"],
            group.weight,
            group.weight_sq,
        ),
        "normalized_entropy": (None if entropy is None or log_loss is None else log_loss / entropy),
        "brier": ratio(model["brier"], group.weight),
        "clipped": model.clipped,
        "ece": None,
    }


def paired_diff(group: GroupSums, index: int) -> PairedDiff | None:
    """Mean and SE of (this column's loss - the first column's loss); None for the first."""
    if index == 0:
        return None
    model = group.models[index]
    return {
        "mean": ratio(model["diff"], group.weight),
        "se": standard_error(
            group.rows,
            model["diff"],
            model["diff_sq"],
            model["diff_w"],
            group.weight,
            group.weight_sq,
        ),
    }
