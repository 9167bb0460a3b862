"""The gate's command-line side: its options, the baseline file, stderr lines, --junit-xml.

``bce score`` uses three things from here: ``@gate_options``, ``plan = gate_plan(options)``
before any input is read (so a usage error or a bad baseline costs no scoring time), then
``plan.apply(report)`` and, after the report is printed, ``plan.report_failures(document)``.
The decisions themselves are in ``bcecli.gate``, which neither prints nor exits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bcecli.errors import BaselineError, UsageError

if TYPE_CHECKING:
    from bcecli.gate import Increase
    from bcecli.report.model import Report

F = TypeVar("F", bound=Callable[..., Any])


def _limit(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    # click's float takes "nan" and "inf"; a NaN threshold would pass every check.
    if value is not None and (not math.isfinite(value) or value < 0):
        raise click.BadParameter(f"{value!r} is not a finite number of 0 or more.")
    return value


def _max_increase(ctx: click.Context, param: click.Parameter, value: str | None) -> Increase | None:
    from bcecli.gate import parse_max_increase

    if value is None:
        return None
    try:
        return parse_max_increase(value)
    except UsageError as error:
        raise click.BadParameter(error.message) from None


def gate_options(command: F) -> F:
    """The quality-gate options of ``bce score`` (SPEC section 7)."""
    decorators = [
        click.option(
            "--max-loss",
            type=float,
            callback=_limit,
            metavar="X",
            help="Fail (exit 1) when the log loss is above X.",
        ),
        click.option(
            "--max-ne",
            type=float,
            callback=_limit,
            metavar="X",
            help="Fail (exit 1) when the normalized entropy is above X. --max-ne 1 means "
            '"better than always predicting the base rate", and needs no baseline.',
        ),
        click.option(
            "--baseline",
            metavar="REPORT.json",
            help="A JSON report of an earlier run (bce score --format json) to compare "
            "with; needs --max-increase.",
        ),
        click.option(
            "--max-increase",
            callback=_max_increase,
            metavar="D",
            help="Fail when the log loss is above the baseline's by more than D: absolute "
            "(0.002), relative to the baseline's loss (1%), or in standard errors of the "
            "difference (2se). Needs --baseline.",
        ),
        click.option(
            "--gate-groups",
            is_flag=True,
            help="Apply the gates to every --by group as well (a group new since the "
            "baseline is listed, not gated).",
        ),
        click.option(
            "--junit-xml",
            type=click.Path(dir_okay=False),
            metavar="PATH",
            help="Write one JUnit test case per gate check to PATH, for CI test reporters.",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@dataclass(frozen=True)
class GatePlan:
    """The gates asked for, checked for consistency, with the baseline already read."""

    max_loss: float | None = None
    max_ne: float | None = None
    baseline: dict[str, Any] | None = None
    max_increase: Increase | None = None
    gate_groups: bool = False
    junit_xml: str | None = None

    @property
    def asked(self) -> bool:
        return self.max_loss is not None or self.max_ne is not None or self.baseline is not None

    def apply(self, report: Report) -> None:
        """Set ``report.gate`` (left None when no gate was asked for); write --junit-xml."""
        from bcecli.gate import evaluate

        if not self.asked:
            return
        report.gate = evaluate(
            report.to_dict(),
            max_loss=self.max_loss,
            max_ne=self.max_ne,
            baseline_document=self.baseline,
            max_increase=self.max_increase,
            gate_groups=self.gate_groups,
        )
        if self.junit_xml:
            from bcecli.report.files import write_atomic
            from bcecli.report.junit import render_junit

            junit = render_junit(report.to_dict(), max_increase=self.max_increase)
            write_atomic(self.junit_xml, junit)

    def report_failures(self, document: Mapping[str, Any]) -> None:
        """One line on stderr per failed check; nothing when every check passed."""
        from bcecli.report.gate_text import failure_lines

        if document["gate"] is None:
            return
        for line in failure_lines(document["gate"], max_increase=self.max_increase):
            click.echo(f"Gate failed: {line}", err=True)


def gate_plan(options: Mapping[str, Any]) -> GatePlan:
    """The gate options, checked against each other, with the baseline read and checked.

    Raises UsageError (exit 2) for options that do not fit together and BaselineError
    (exit 2) for a baseline file that is missing or not a bce report.
    """
    baseline_path = options.get("baseline")
    increase = options.get("max_increase")
    if increase is not None and baseline_path is None:
        raise UsageError("--max-increase compares with a baseline: pass --baseline REPORT.json.")
    if baseline_path is not None and increase is None:
        raise UsageError(
            "--baseline needs --max-increase D to say how much worse than the baseline "
            "passes (0.002, 1% or 2se)."
        )
    max_loss, max_ne = options.get("max_loss"), options.get("max_ne")
    gated = max_loss is not None or max_ne is not None or increase is not None
    gates = "--max-loss, --max-ne or --baseline with --max-increase"
    if options.get("gate_groups"):
        if not options.get("by"):
            raise UsageError("--gate-groups gates every --by group: pass --by COL as well.")
        if not gated:
            raise UsageError(f"--gate-groups applies gates to groups: pass {gates}.")
    if options.get("junit_xml") and not gated:
        raise UsageError(f"--junit-xml writes one test case per gate check: pass {gates}.")
    return GatePlan(
        max_loss=max_loss,
        max_ne=max_ne,
        baseline=None if baseline_path is None else load_baseline(baseline_path),
        max_increase=increase,
        gate_groups=bool(options.get("gate_groups")),
        junit_xml=options.get("junit_xml"),
    )


def load_baseline(path: str) -> dict[str, Any]:
    """Read a baseline report: a JSON object with this bce's report schema, or BaselineError."""
    import json

    from bcecli.document import SCHEMA

    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise BaselineError(
            f"Baseline {path} does not exist; write one with "
            "bce score ... --format json > baseline.json (or --report-json PATH)."
        ) from None
    except IsADirectoryError:
        raise BaselineError(f"Baseline {path} is a folder, not a JSON report.") from None
    except UnicodeDecodeError:
        raise BaselineError(f"Baseline {path} is not a JSON report (not UTF-8 text).") from None
    except OSError as error:
        raise BaselineError(f"Cannot read baseline {path}: {error.strerror or error}.") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"Baseline {path} is not a JSON report (line {error.lineno}: {error.msg}); "
            "write it with bce score --format json."
        ) from None
    if not isinstance(document, dict) or "schema" not in document:
        raise BaselineError(
            f'Baseline {path} is JSON but not a bce report (no "schema" key); '
            "write it with bce score --format json."
        )
    if document["schema"] != SCHEMA:
        raise BaselineError(
            f"Baseline {path} is a {document['schema']!r} report and this bce reads "
            f"{SCHEMA!r}; score the baseline again with this version of bce."
        )
    return document
