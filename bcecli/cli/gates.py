"""The gate's command-line side: the options made into ``Gates``, --junit-xml, stderr lines.

``bce score`` makes ``plan = gate_plan(options, by=...)`` before any input is read (so a
usage error or a bad baseline costs no scoring time), then, inside
``plan.errors_to_junit()``, ``plan.apply(report)`` and, after the report is printed,
``plan.report_failures(document)``. The decisions themselves are in ``bcecli.gate``,
which neither prints nor exits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import click

from bcecli.errors import BceError, UsageError

if TYPE_CHECKING:
    from bcecli.cli.options import GateOptions
    from bcecli.document import Document
    from bcecli.gate import Gates
    from bcecli.report.model import Report


@dataclass(frozen=True)
class GatePlan:
    """The gates asked for, with the baseline already read, and where JUnit goes."""

    gates: Gates
    junit_xml: str | None = None

    def apply(self, report: Report) -> None:
        """Set ``report.gate`` (left None when no gate was asked for); write --junit-xml."""
        report.apply_gates(self.gates)
        if self.junit_xml and report.gate is not None:
            from bcecli.report.files import write_atomic
            from bcecli.report.junit import render_junit

            junit = render_junit(report.to_dict(), max_increase=self.gates.max_increase)
            write_atomic(self.junit_xml, junit)

    @contextmanager
    def errors_to_junit(self) -> Iterator[None]:
        """An error that stops the run (exit 2) still leaves a --junit-xml file: one test
        case in error carrying the message, so a CI test reporter shows why the gate did
        not run rather than failing for a missing file (or showing an old one)."""
        try:
            yield
        except BceError as error:
            if self.junit_xml:
                from bcecli.report.files import write_atomic
                from bcecli.report.junit import render_junit_error

                try:
                    write_atomic(self.junit_xml, render_junit_error(error.message))
                except BceError:
                    pass  # PATH itself cannot be written: the first error is the one to tell
            raise

    def report_failures(self, document: Document) -> None:
        """One line on stderr per failed check; nothing when every check passed."""
        from bcecli.report.gate_text import failure_lines

        if document["gate"] is None:
            return
        for line in failure_lines(document["gate"], max_increase=self.gates.max_increase):
            click.echo(f"Gate failed: {line}", err=True)


def gate_plan(options: GateOptions, *, by: tuple[str, ...]) -> GatePlan:
    """The gate options, checked against each other, with the baseline read and checked.

    Raises UsageError (exit 2) for options that do not fit together and BaselineError
    (exit 2) for a baseline file that is missing or not a bce report.
    """
    from bcecli.gate import GATE_OPTIONS, Gates
    from bcecli.report.baseline import load_baseline

    # The options are checked with a stand-in baseline first: a usage error is said
    # before the file is read.
    gates = Gates(
        limits=options.limits(),
        baseline=None if options.baseline is None else {},
        max_increase=options.max_increase,
        gate_groups=options.gate_groups,
        by=by,
    )
    if options.junit_xml and not gates.asked:
        raise UsageError(f"--junit-xml writes one test case per gate check: pass {GATE_OPTIONS}.")
    plan = GatePlan(gates, options.junit_xml)
    if options.baseline is not None:
        # The options are accepted from here on: a bad baseline is reported in JUnit too.
        with plan.errors_to_junit():
            baseline = load_baseline(options.baseline)
        plan = replace(plan, gates=replace(gates, baseline=baseline))
    return plan
