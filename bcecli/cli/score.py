"""``bce score``: read, score, report, gate."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bcecli.cli.options import (
    CONTEXT_SETTINGS,
    EXIT_CODES_HELP,
    EngineOptions,
    GateOptions,
    InputOptions,
    comma_list,
    engine_options,
    gate_options,
    input_options,
)
from bcecli.errors import ExitCode

if TYPE_CHECKING:
    from bcecli.document import Document


@click.command(context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@input_options
@click.option(
    "--by", "by", metavar="COL", multiple=True, help="Also report per group of COL (repeatable)."
)
@click.option(
    "--calibration",
    type=click.IntRange(min=1),
    metavar="N",
    help="Reliability table over N bins, and ECE.",
)
@click.option(
    "--worst",
    type=click.IntRange(min=0),
    default=0,
    metavar="K",
    help="List the K highest-loss rows.",
)
@click.option("--keep", metavar="COL,...", multiple=True, help="Columns to show with --worst.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="What to print on standard output.",
)
@click.option(
    "--report-json",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Also write the JSON report to PATH.",
)
@click.option(
    "--report-md",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Also write the markdown report to PATH.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Also draw a reliability diagram to PATH (.png or .svg; needs matplotlib: "
    "pip install 'bcecli[plot]'). Implies --calibration 10 unless given.",
)
@gate_options
@engine_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def score(
    *,
    inputs: InputOptions,
    by: tuple[str, ...],
    calibration: int | None,
    worst: int,
    keep: tuple[str, ...],
    output_format: str,
    report_json: str | None,
    report_md: str | None,
    plot: str | None,
    gates: GateOptions,
    engine: EngineOptions,
    quiet: bool,
) -> int:
    """Score FILEs (or standard input) as one population and print the report.

    \b
    Examples:
      bce score preds.csv
      bce score preds.parquet -y label -p prob --format json | jq .metrics.log_loss
      zcat preds.csv.gz | bce score - --worst 5 --keep id
      bce score preds.csv --max-ne 1 --baseline main.json --max-increase 2se
    """
    from bcecli.cli.gates import gate_plan
    from bcecli.cli.progress import Progress
    from bcecli.report.model import build_report

    settings = inputs.settings(
        by=by,
        keep=comma_list(keep),
        calibration=calibration or _plot_bins(plot),
        worst=worst,
    )
    # Checked before reading: a bad baseline or a missing extra costs no scoring time.
    plan = gate_plan(gates, by=by)
    chosen = engine.choose()
    readers = inputs.readers()
    with Progress(readers, quiet=quiet) as on_progress:
        result = chosen.score(readers, settings, on_progress=on_progress)
    report = build_report(result)
    plan.apply(report)  # sets report.gate, writes --junit-xml
    document = report.to_dict()
    _write_report_files(document, report_json=report_json, report_md=report_md)
    if plot:
        from bcecli.report.plot import write_plot

        write_plot(plot, document)
    _print_report(document, output_format)
    plan.report_failures(document)
    return int(ExitCode.OK if report.passed else ExitCode.GATE_FAILED)


def _print_report(document: Document, output_format: str) -> None:
    if output_format == "json":
        from bcecli.report.jsonout import render_json

        sys.stdout.write(render_json(document))
    elif output_format == "markdown":
        from bcecli.report.markdown import render_markdown

        sys.stdout.write(render_markdown(document))
    else:
        from rich.console import Console

        from bcecli.report.table import render_table

        render_table(document, Console(file=sys.stdout, highlight=False))
    sys.stdout.flush()


def _plot_bins(path: str | None) -> int | None:
    """Bins for --plot, checked before any input is read so a typo costs no scoring time."""
    if not path:
        return None
    from bcecli.report.plot import DEFAULT_BINS, plot_format, require_matplotlib

    plot_format(path)
    require_matplotlib()
    return DEFAULT_BINS


def _write_report_files(
    document: Document, *, report_json: str | None, report_md: str | None
) -> None:
    from bcecli.report.files import write_atomic

    if report_json:
        from bcecli.report.jsonout import render_json

        write_atomic(report_json, render_json(document))
    if report_md:
        from bcecli.report.markdown import render_markdown

        write_atomic(report_md, render_markdown(document))
