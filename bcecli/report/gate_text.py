"""The gate's verdicts in words: one plain line per failed check.

bcecli.gate decides; this says why a check failed, for the CLI's stderr and for the
messages of --junit-xml, with the report's own number formatting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcecli.document import Check, Gate
from bcecli.gate import LIMITS_BY_CHECK
from bcecli.report.layout import distinct, group_label, number

if TYPE_CHECKING:
    from bcecli.gate import Increase

# Why a metric can be undefined, where it is not only "no weight" (a loss over zero weight).
_UNDEFINED = {"normalized_entropy": "the base rate is 0 or 1"}


def failure_lines(gate: Gate, *, max_increase: Increase | str | None = None) -> list[str]:
    """One plain line per failed check, e.g. ``log_loss 0.4712 > max-loss 0.45``.

    Lines name the column when the gate covers several, and the group for group checks.
    A value and its threshold get as many digits as it takes to tell them apart.
    ``max_increase`` (the option as given) is quoted in max_increase lines when passed.
    """
    checks = gate["checks"]
    several_columns = len({check["column"] for check in checks}) > 1
    spec = ""
    if max_increase is not None:
        spec = " " + (max_increase if isinstance(max_increase, str) else max_increase.text)
    lines = []
    for check in checks:
        if check["passed"]:
            continue
        where = [check["column"]] if several_columns else []
        if check["group"] is not None:
            where.append(group_label(check["group"]))
        prefix = ", ".join(where) + ": " if where else ""
        lines.append(prefix + _failure(check, spec))
    return lines


def _failure(check: Check, spec: str) -> str:
    name = check["name"]
    value, threshold, baseline = check["value"], check["threshold"], check["baseline"]
    gated = LIMITS_BY_CHECK.get(name)
    metric = "log_loss" if gated is None else gated.metric
    option = name.replace("_", "-")
    if gated is not None:
        if value is None:
            why = _UNDEFINED.get(metric, "no weight")
            return f"{metric} is undefined ({why}), so it cannot pass {option} {number(threshold)}"
        shown, limit = distinct(value, threshold)
        return f"{metric} {shown} > {option} {limit}"
    if value is None:
        return (
            f"log_loss is undefined (no weight), so it cannot be compared with "
            f"baseline {number(baseline)} ({option}{spec})"
        )
    if threshold is None:
        shown, before = distinct(value, baseline)
        return (
            f"log_loss {shown} > baseline {before} ({option}{spec}: "
            "the standard error needs 2 rows or more on both sides)"
        )
    # Only a new group's check has no baseline, and evaluate() always passes it.
    assert baseline is not None
    shown, limit = distinct(value, threshold)
    before = distinct(baseline, value)[0]
    return (
        f"log_loss {shown} > baseline {before} + {number(threshold - baseline)} = {limit} "
        f"({option}{spec})"
    )
