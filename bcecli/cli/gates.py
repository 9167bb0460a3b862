"""The gate's command-line side: the baseline file, stderr lines, --junit-xml.

``bce score`` makes ``plan = gate_plan(gates, by=...)`` before any input is read (so a
usage error or a bad baseline costs no scoring time), then ``plan.apply(report)`` and,
after the report is printed, ``plan.report_failures(document)``. The decisions
themselves are in ``bcecli.gate``, which neither prints nor exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from bcecli.errors import BaselineError, UsageError

if TYPE_CHECKING:
    from bcecli.cli.options import GateOptions
    from bcecli.gate import Increase
    from bcecli.report.model import Report


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


def gate_plan(options: GateOptions, *, by: tuple[str, ...]) -> GatePlan:
    """The gate options, checked against each other, with the baseline read and checked.

    Raises UsageError (exit 2) for options that do not fit together and BaselineError
    (exit 2) for a baseline file that is missing or not a bce report.
    """
    baseline_path = options.baseline
    increase = options.max_increase
    if increase is not None and baseline_path is None:
        raise UsageError("--max-increase compares with a baseline: pass --baseline REPORT.json.")
    if baseline_path is not None and increase is None:
        raise UsageError(
            "--baseline needs --max-increase D to say how much worse than the baseline "
            "passes (0.002, 1% or 2se)."
        )
    max_loss, max_ne = options.max_loss, options.max_ne
    gated = max_loss is not None or max_ne is not None or increase is not None
    gates = "--max-loss, --max-ne or --baseline with --max-increase"
    if options.gate_groups:
        if not by:
            raise UsageError("--gate-groups gates every --by group: pass --by COL as well.")
        if not gated:
            raise UsageError(f"--gate-groups applies gates to groups: pass {gates}.")
    if options.junit_xml and not gated:
        raise UsageError(f"--junit-xml writes one test case per gate check: pass {gates}.")
    return GatePlan(
        max_loss=max_loss,
        max_ne=max_ne,
        baseline=None if baseline_path is None else load_baseline(baseline_path),
        max_increase=increase,
        gate_groups=options.gate_groups,
        junit_xml=options.junit_xml,
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
