"""Quality gates over a report document: pure decisions, no wording, no exits.

``evaluate()`` turns a report document (``Report.to_dict()``) and the thresholds into the
``gate`` object of the JSON report. The lines that say why a check failed are in
bcecli.report.gate_text; the CLI prints them and picks the exit code. This module imports
only the standard library, bcecli.errors and bcecli.document, so the report package can
use the gate without the gate depending on the report.

Decisions on the edge cases (each is tested in tests/test_gate.py):

- An undefined value (``None`` or NaN: NE when the base rate is 0 or 1, a loss over zero
  weight) cannot pass a threshold, so its check fails, and says why. A gate that cannot be
  evaluated must not let a CI job through silently.
- A group absent from the baseline (or whose baseline loss is undefined) is new and not
  gated: its ``max_increase`` check has ``baseline``, ``threshold`` and ``delta`` null and
  passes. No other max_increase check has a null baseline, so that is how to spot "new".
- ``--max-increase Nse`` when either standard error is undefined (a single row): the
  threshold is undefined (null); the check passes only when the loss did not increase at
  all, since no increase can be shown to be within the noise.
- Thresholds are computed once in float64 and the value is compared with them exactly,
  so ``passed == (value <= threshold)`` holds for the numbers the JSON report shows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from bcecli.document import (
    SCHEMA,
    Check,
    CheckName,
    Document,
    Gate,
    GroupKey,
    Metrics,
    ModelEntry,
)
from bcecli.errors import BaselineError, UsageError

Kind = Literal["absolute", "relative", "se"]


@dataclass(frozen=True)
class Limit:
    """A gate that fails where one metric is above its threshold: ``--max-...`` X."""

    check: str  # the check's name in the report; its option is --max-... (dashes)
    metric: str  # the Metrics key it reads

    @property
    def option(self) -> str:
        return "--" + self.check.replace("_", "-")


# Every limit gate, in the order their checks are listed. A new limit is one row here,
# its option in bcecli.cli.options, and its check name in the schema's enum.
LIMITS = (
    Limit("max_loss", "log_loss"),
    Limit("max_ne", "normalized_entropy"),
)
LIMITS_BY_CHECK = {limit.check: limit for limit in LIMITS}
CHECK_NAMES = (*LIMITS_BY_CHECK, "max_increase")

_INCREASE_FORMS = (
    "an absolute increase in loss (0.002), a percentage of the baseline's loss (1%) "
    "or a number of standard errors of the difference (2se)"
)


@dataclass(frozen=True)
class Increase:
    """A parsed ``--max-increase``: how much worse than the baseline still passes."""

    kind: Kind
    amount: float  # loss units (absolute), a fraction (relative: 1% is 0.01), or SEs (se)
    text: str  # as the user wrote it, for messages

    def threshold(
        self, baseline: float, se_now: float | None, se_baseline: float | None
    ) -> float | None:
        """The largest loss that passes; None when it needs a standard error that is undefined."""
        if self.kind == "absolute":
            return baseline + self.amount
        if self.kind == "relative":
            return baseline + baseline * self.amount
        if self.amount == 0.0:
            return baseline  # 0se allows no increase, whatever the noise
        if se_now is None or se_baseline is None:
            return None
        # hypot is sqrt(a^2 + b^2) without overflow or underflow on the way.
        return baseline + self.amount * math.hypot(se_now, se_baseline)


def parse_max_increase(text: str) -> Increase:
    """``0.002`` (absolute), ``1%`` (relative to the baseline's loss) or ``2se`` (standard errors).

    Raises UsageError for anything else, for negative and for non-finite amounts.
    """
    cleaned = text.strip().lower().replace(" ", "")
    kind: Kind = "absolute"
    number_text = cleaned
    if cleaned.endswith("%"):
        kind, number_text = "relative", cleaned[:-1]
    elif cleaned.endswith("se"):
        kind, number_text = "se", cleaned[:-2]
    try:
        amount = float(number_text)
    except ValueError:
        raise UsageError(f"{text!r} is not {_INCREASE_FORMS}.") from None
    if not math.isfinite(amount) or amount < 0:
        raise UsageError(f"{text!r} is not a finite amount of 0 or more.")
    return Increase(kind, amount / 100 if kind == "relative" else amount, text.strip())


def check_limit(value: float, option: str) -> float:
    """A ``--max-loss``/``--max-ne`` value: finite and not negative (NaN would pass everything)."""
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{option} must be a finite number of 0 or more, not {value!r}.")
    return float(value)


@dataclass(frozen=True)
class Gates:
    """The gates asked for, checked against each other when made.

    ``baseline`` is a report document (``bcecli.report.baseline.load_baseline`` reads
    one from a file); ``max_increase`` says how much worse than it still passes.
    ``by`` is the run's ``--by`` columns, which ``gate_groups`` needs.
    """

    limits: Mapping[str, float] = field(default_factory=dict)  # by check name (LIMITS)
    baseline: Mapping[str, Any] | None = None
    max_increase: Increase | None = None
    gate_groups: bool = False
    by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_limits(self.limits)
        if self.max_increase is not None and self.baseline is None:
            raise UsageError(
                "--max-increase compares with a baseline: pass --baseline REPORT.json."
            )
        if self.baseline is not None and self.max_increase is None:
            raise UsageError(
                "--baseline needs --max-increase D to say how much worse than the baseline "
                "passes (0.002, 1% or 2se)."
            )
        if self.gate_groups:
            if not self.by:
                raise UsageError("--gate-groups gates every --by group: pass --by COL as well.")
            if not self.asked:
                raise UsageError(f"--gate-groups applies gates to groups: pass {GATE_OPTIONS}.")

    @property
    def asked(self) -> bool:
        """Whether any gate was asked for (a report without one has ``gate`` null)."""
        return bool(self.limits) or self.baseline is not None

    def evaluate(self, document: Document) -> Gate:
        """Every check of these gates over ``document`` (see ``evaluate``)."""
        return evaluate(
            document,
            baseline_document=self.baseline,
            max_increase=self.max_increase,
            gate_groups=self.gate_groups,
            **self.limits,
        )


GATE_OPTIONS = "--max-loss, --max-ne or --baseline with --max-increase"


def _check_limits(limits: Mapping[str, float]) -> dict[str, float]:
    """Limit thresholds by check name: known gates, finite numbers of 0 or more."""
    unknown = [name for name in limits if name not in LIMITS_BY_CHECK]
    if unknown:
        raise UsageError(
            f"No gate is called {unknown[0]!r}; the limit gates are {', '.join(LIMITS_BY_CHECK)}."
        )
    return {
        name: check_limit(value, LIMITS_BY_CHECK[name].option) for name, value in limits.items()
    }


def evaluate(
    document: Document,
    *,
    baseline_document: Mapping[str, Any] | None = None,
    max_increase: Increase | str | None = None,
    gate_groups: bool = False,
    **limits: float | None,
) -> Gate:
    """Every check, for every probability column (and every group with gate_groups).

    ``limits`` are the limit gates by check name (``max_loss=0.5``; see ``LIMITS``);
    None means not asked for.

    Returns ``{"passed": bool, "checks": [...]}`` as in the JSON report: checks run per
    scope (all rows first, then each group in report order), per column, in the order
    max_loss, max_ne, max_increase. No check stops the others.

    Raises BaselineError when the baseline cannot be compared (another schema, eps or
    label column, a column it lacks, no groups to gate against) and UsageError for a
    threshold that is not a finite number of 0 or more, or a baseline without an
    increase (or the reverse).
    """
    increase = parse_max_increase(max_increase) if isinstance(max_increase, str) else max_increase
    if (increase is None) != (baseline_document is None):
        raise UsageError("--baseline and --max-increase go together: pass both or neither.")
    thresholds = _check_limits({name: value for name, value in limits.items() if value is not None})
    baseline = (
        None
        if baseline_document is None
        else _Baseline(baseline_document, document, gate_groups=gate_groups)
    )

    scopes: list[tuple[GroupKey | None, Sequence[ModelEntry]]] = [(None, document["models"])]
    if gate_groups:
        scopes += [(dict(group["key"]), group["models"]) for group in document["groups"]]
    checks: list[Check] = []
    for group, models in scopes:
        for model in models:
            column = model["column"]
            metrics = model["metrics"]
            for limit in LIMITS:
                if limit.check in thresholds:
                    value = cast(Mapping[str, Any], metrics)[limit.metric]
                    threshold = thresholds[limit.check]
                    checks.append(_limit_check(limit.check, column, group, value, threshold))
            if increase is not None and baseline is not None:
                before = baseline.metrics(column, group)
                checks.append(_increase_check(column, group, metrics, before, increase))
    return {"passed": all(check["passed"] for check in checks), "checks": checks}


def _finite(value: Any) -> float | None:
    """The value as a float, or None when it is missing or not finite (NaN, infinity)."""
    if value is None or isinstance(value, bool):
        return None
    number_ = float(value)
    return number_ if math.isfinite(number_) else None


def _check(
    name: CheckName,
    column: str,
    group: GroupKey | None,
    value: float | None,
    threshold: float | None,
    baseline: float | None,
    delta: float | None,
    passed: bool,
) -> Check:
    return {
        "name": name,
        "column": column,
        "group": group,
        "value": value,
        "threshold": threshold,
        "baseline": baseline,
        "delta": delta,
        "passed": passed,
    }


def _limit_check(
    name: CheckName, column: str, group: GroupKey | None, raw: float | None, threshold: float
) -> Check:
    value = _finite(raw)
    # Exact comparison, no rounding; an undefined value cannot pass.
    passed = value is not None and value <= threshold
    return _check(name, column, group, value, threshold, None, None, passed)


def _increase_check(
    column: str,
    group: GroupKey | None,
    now: Metrics,
    before: Mapping[str, Any] | None,
    increase: Increase,
) -> Check:
    value = _finite(now["log_loss"])
    baseline = None if before is None else _finite(before["log_loss"])
    if baseline is None:
        # New group (or one with no loss in the baseline): listed, not gated.
        return _check("max_increase", column, group, value, None, None, None, True)
    delta = None if value is None else value - baseline
    threshold = increase.threshold(
        baseline,
        _finite(now["log_loss_se"]),
        None if before is None else _finite(before["log_loss_se"]),
    )
    if value is None:
        passed = False
    elif threshold is None:
        passed = value <= baseline
    else:
        passed = value <= threshold
    return _check("max_increase", column, group, value, threshold, baseline, delta, passed)


def _canonical(key: Mapping[str, Any]) -> str:
    # Keys are matched as the JSON text they print as: a baseline read back from JSON
    # holds "2024-01-31" where this run's document may hold a date object.
    return json.dumps(dict(key), sort_keys=True, default=str)


class _Baseline:
    """A baseline document checked against the current one, indexed by column and group key."""

    def __init__(
        self, baseline: Mapping[str, Any], document: Document, *, gate_groups: bool
    ) -> None:
        try:
            self._read(baseline, document, gate_groups=gate_groups)
        except (KeyError, TypeError, AttributeError, IndexError) as error:
            raise BaselineError(
                f"The baseline is not a complete bce report ({type(error).__name__}: {error}); "
                "write it with bce score --format json."
            ) from None

    def _read(self, baseline: Any, document: Document, *, gate_groups: bool) -> None:
        if not isinstance(baseline, Mapping):
            raise BaselineError("The baseline is not a bce report (not a JSON object).")
        schema = baseline.get("schema")
        if schema != SCHEMA:
            raise BaselineError(
                f"The baseline is a {schema!r} report and this bce reads {SCHEMA!r}; "
                "score the baseline again with this version of bce."
            )
        eps_then, eps_now = baseline["settings"]["eps"], document["settings"]["eps"]
        if eps_then != eps_now:
            raise BaselineError(
                f"The baseline was scored with eps {eps_then!r} and this run with eps "
                f"{eps_now!r}, so their losses do not compare; pass --eps {eps_then!r} "
                "or score the baseline again."
            )
        label_then, label_now = baseline["columns"]["label"], document["columns"]["label"]
        if label_then != label_now:
            raise BaselineError(
                f"The baseline's label column is {label_then!r} and this run's is "
                f"{label_now!r}; pass -y {label_then} or score the baseline again."
            )
        self.columns: dict[str, Mapping[str, Any]] = {
            model["column"]: model["metrics"] for model in baseline["models"]
        }
        wanted = [model["column"] for model in document["models"]]
        missing = [name for name in wanted if name not in self.columns]
        if missing:
            raise BaselineError(
                f"The baseline has no column {', '.join(map(repr, missing))} "
                f"(it has {', '.join(map(repr, self.columns)) or 'none'}); "
                "score the baseline with the same -p columns."
            )
        for name in wanted:
            if _finite(self.columns[name]["log_loss"]) is None:
                raise BaselineError(f"The baseline has no log loss for column {name!r}.")
        self.groups: dict[str, dict[str, Mapping[str, Any]]] = {}
        if not gate_groups or not document["groups"]:
            return
        names_now = sorted(document["groups"][0]["key"])
        names_then = sorted(baseline["groups"][0]["key"]) if baseline["groups"] else []
        if names_then != names_now:
            grouped = f"grouped by {', '.join(names_then)}" if names_then else "not grouped"
            raise BaselineError(
                f"The baseline is {grouped} and this run is grouped by "
                f"{', '.join(names_now)}; score the baseline with the same --by to gate "
                "groups against it."
            )
        for group in baseline["groups"]:
            self.groups[_canonical(group["key"])] = {
                model["column"]: model["metrics"] for model in group["models"]
            }

    def metrics(self, column: str, group: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The baseline's metrics of column in group (all rows for None); None for a new group."""
        if group is None:
            return self.columns[column]
        found: Mapping[str, Any] | None = self.groups.get(_canonical(group), {}).get(column)
        return found
