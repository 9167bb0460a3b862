"""``bce score``: read, score, report, gate."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bcecli.cli.options import (
    CONTEXT_SETTINGS,
    SCORE_EXIT_CODES_HELP,
    EngineOptions,
    GateOptions,
    InputOptions,
    ReportFiles,
    comma_list,
    engine_options,
    gate_options,
    input_options,
    output_format_option,
    report_file_options,
)
from bcecli.errors import ExitCode, UsageError
from bcecli.report.renderers import RENDERERS_BY_NAME

if TYPE_CHECKING:
    from bcecli.document import Document


@click.command(context_settings=CONTEXT_SETTINGS, epilog=SCORE_EXIT_CODES_HELP)
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
@click.option(
    "--keep",
    metavar="COL,...",
    multiple=True,
    help="Columns to show beside the --worst rows (needs --worst).",
)
@output_format_option
@report_file_options
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Also draw a reliability diagram to PATH (.png or .svg; needs matplotlib: "
    "pip install matplotlib). Implies --calibration 10 unless given.",
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
    report_files: ReportFiles,
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

    kept = comma_list(keep)
    if kept and not worst:
        # Checked here: a --keep left without rows to show would vanish without a word.
        raise UsageError(
            "--keep needs --worst in bce score: it names the columns shown beside the K "
            "highest-loss rows; pass --worst K as well."
        )
    settings = inputs.settings(
        by=by,
        keep=kept,
        calibration=calibration or _plot_bins(plot),
        worst=worst,
    )
    # Checked before reading: a bad baseline or a missing extra costs no scoring time.
    plan = gate_plan(gates, by=by)
    chosen = engine.choose()
    # Every option is accepted: whatever stops the run now is told in --junit-xml too.
    with plan.errors_to_junit():
        readers = inputs.readers()
        with Progress(readers, quiet=quiet) as progress:
            result = chosen.score(progress.readers, settings, on_progress=progress.on_rows)
        report = build_report(result)
        plan.apply(report)  # sets report.gate, writes --junit-xml
        document = report.to_dict()
        _write_report_files(document, report_files)
        if plot:
            from bcecli.report.plot import write_plot

            write_plot(plot, document)
        RENDERERS_BY_NAME[output_format].write(document, sys.stdout)
        sys.stdout.flush()
        plan.report_failures(document)
    return int(ExitCode.OK if report.passed else ExitCode.GATE_FAILED)


def _plot_bins(path: str | None) -> int | None:
    """Bins for --plot, checked before any input is read so a typo costs no scoring time."""
    if not path:
        return None
    from bcecli.report.plot import DEFAULT_BINS, plot_format, require_matplotlib

    plot_format(path)
    require_matplotlib()
    return DEFAULT_BINS


def _write_report_files(document: Document, report_files: ReportFiles) -> None:
    from bcecli.report.files import write_atomic

    for name, path in report_files.paths.items():
        write_atomic(path, RENDERERS_BY_NAME[name].text(document))
