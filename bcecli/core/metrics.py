"""The report's numbers, finished from exact sums: divisions correctly rounded."""

from __future__ import annotations

import math
from fractions import Fraction

from bcecli.core.accumulate import GroupSums
from bcecli.core.entries import Metrics, PairedDiff
from bcecli.core.exactsum import ExactSum, ratio


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
    """The SPEC section 4 metrics of prediction column ``index`` in one population."""
    model = group.models[index]
    base_rate = ratio(group.positives, group.weight)
    log_loss = ratio(model.loss, group.weight)
    entropy = None if base_rate is None else binary_entropy(base_rate)
    return {
        "rows": group.rows,
        "skipped": skipped,
        "weight_sum": float(group.weight),
        "positives": float(group.positives),
        "base_rate": base_rate,
        "mean_prob": ratio(model.prob, group.weight),
        "log_loss": log_loss,
        "log_loss_se": standard_error(
            group.rows, model.loss, model.loss_sq, model.loss_w, group.weight, group.weight_sq
        ),
        "normalized_entropy": (None if entropy is None or log_loss is None else log_loss / entropy),
        "brier": ratio(model.brier, group.weight),
        "clipped": model.clipped,
        "ece": None,
    }


def paired_diff(group: GroupSums, index: int) -> PairedDiff | None:
    """Mean and SE of (this column's loss - the first column's loss); None for the first."""
    if index == 0:
        return None
    model = group.models[index]
    return {
        "mean": ratio(model.diff, group.weight),
        "se": standard_error(
            group.rows, model.diff, model.diff_sq, model.diff_w, group.weight, group.weight_sq
        ),
    }
