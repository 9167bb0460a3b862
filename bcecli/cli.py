"""The ``bce`` command: parse, call the library, render, exit.

Heavy libraries (numpy, pyarrow, pandas, rich) are imported inside the commands so
``bce --help`` and ``bce --version`` start fast.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from bcecli import __version__
from bcecli.engine_cli import engine_options, engine_plan
from bcecli.errors import BceError, ExitCode
from bcecli.gate_cli import gate_options, gate_plan
from bcecli.options import (
    CONTEXT_SETTINGS,
    EXIT_CODES_HELP,
    comma_list,
    input_options,
    make_readers,
    make_settings,
)

if TYPE_CHECKING:
    from bcecli.document import Document


@click.group(context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "-V", "--version", prog_name="bce")
def cli() -> None:
    """Score binary-classification predictions by their log loss (binary cross-entropy).

    Reads a label column and a probability (or logit) column from CSV, TSV or
    Parquet, computes every row's loss and the exact mean in streaming chunks,
    and prints a table or a JSON report.
    """


@cli.command(context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
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
def score(**options: Any) -> int:
    """Score FILEs (or standard input) as one population and print the report.

    \b
    Examples:
      bce score preds.csv
      bce score preds.parquet -y label -p prob --format json | jq .metrics.log_loss
      zcat preds.csv.gz | bce score - --worst 5 --keep id
      bce score preds.csv --max-ne 1 --baseline main.json --max-increase 2se
    """
    from bcecli.report.model import build_report

    settings = make_settings(
        options,
        by=options["by"],
        keep=comma_list(options["keep"]),
        calibration=options["calibration"] or _plot_bins(options["plot"]),
        worst=options["worst"],
    )
    gate = gate_plan(options)  # before reading: a bad baseline costs no scoring time
    engine = engine_plan(options)
    readers = make_readers(options)
    with _progress(readers, quiet=options["quiet"]) as on_progress:
        result = engine.score(readers, settings, on_progress=on_progress)
    report = build_report(result)
    gate.apply(report)  # sets report.gate, writes --junit-xml
    document = report.to_dict()
    _write_report_files(document, options)
    if options["plot"]:
        from bcecli.report.plot import write_plot

        write_plot(options["plot"], document)
    try:
        _print_report(document, options["output_format"])
    except BrokenPipeError:
        # click's own main would turn this into exit status 1: answer as SIGPIPE would.
        raise click.exceptions.Exit(_broken_pipe()) from None
    gate.report_failures(document)
    return int(ExitCode.OK if report.passed else ExitCode.GATE_FAILED)


@cli.command(context_settings=CONTEXT_SETTINGS)
def schema() -> None:
    """Print the JSON Schema of the report that --format json writes."""
    from bcecli.report.jsonout import load_schema, render_json

    click.echo(render_json(load_schema()), nl=False)


from bcecli.rows_command import rows  # noqa: E402 - after the group it joins

cli.add_command(rows)


def _print_report(document: Document, output_format: str) -> None:
    if output_format == "json":
        from bcecli.report.jsonout import render_json

        sys.stdout.write(render_json(document))
    elif output_format == "markdown":
        from bcecli.report.markdown import render_markdown

        sys.stdout.write(render_markdown(document))
    else:
        from bcecli.report.table import render_table

        render_table(document, _console())
    sys.stdout.flush()


def _plot_bins(path: str | None) -> int | None:
    """Bins for --plot, checked before any input is read so a typo costs no scoring time."""
    if not path:
        return None
    from bcecli.report.plot import DEFAULT_BINS, plot_format, require_matplotlib

    plot_format(path)
    require_matplotlib()
    return DEFAULT_BINS


def _console() -> Any:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False)


def _write_report_files(document: Document, options: dict[str, Any]) -> None:
    from bcecli.report.files import write_atomic

    if options["report_json"]:
        from bcecli.report.jsonout import render_json

        write_atomic(options["report_json"], render_json(document))
    if options["report_md"]:
        from bcecli.report.markdown import render_markdown

        write_atomic(options["report_md"], render_markdown(document))


class _progress:
    """A Rich progress display on stderr for runs that last more than about a second.

    Only when stderr is an interactive terminal (not TERM=dumb, where Rich would
    print every refresh), never with --quiet, never for standard input (its size is
    unknown and the terminal may be typing it). A timer shows it after DELAY seconds,
    so a short run prints nothing, and a slow first chunk still shows bce is working.
    """

    DELAY = 1.0

    def __init__(self, readers: list[Any], *, quiet: bool) -> None:
        stdin = any(reader.source.is_stdin for reader in readers)
        self.enabled = not quiet and not stdin and sys.stderr.isatty()
        self.progress: Any = None
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.shown = False
        self.done = False

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=sys.stderr)
        if not console.is_interactive:
            return None
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            # stdout carries the report: Live must not wrap it while it runs.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = self.progress.add_task("scoring", total=None)
        self.timer = threading.Timer(self.DELAY, self._show)
        self.timer.daemon = True
        self.timer.start()

        def advance(rows: int) -> None:
            self.progress.advance(task, rows)

        return advance

    def _show(self) -> None:
        with self.lock:
            if not self.done:
                self.progress.start()
                self.shown = True

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            self.done = True
            if self.shown:
                self.progress.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run bce and return its exit status (tests call this directly)."""
    _buffer_stdout()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="bce", standalone_mode=False
        )
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code)
    except click.ClickException as error:
        error.show()
        return int(ExitCode.INPUT_ERROR)
    except click.Abort:
        # click has already ended the line on stderr; one line is all Ctrl-C gets.
        return int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        _say("")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return _broken_pipe()
    except BceError as error:
        if os.environ.get("BCE_TRACEBACK"):
            raise
        _say(f"Error: {error.message}")
        return int(error.exit_code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _broken_pipe()
    return int(result or 0)


def _buffer_stdout() -> None:
    # Under python -u or PYTHONUNBUFFERED, stdout is a raw FileIO and TextIOWrapper does
    # not retry a short write: when head closes the pipe, the rest of the output is
    # dropped without an EPIPE and bce would exit 0. A BufferedWriter retries, and fails.
    if isinstance(getattr(sys.stdout, "buffer", None), io.FileIO):
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(sys.stdout.buffer),
            encoding=sys.stdout.encoding,
            errors=sys.stdout.errors,
            line_buffering=True,
        )


def _say(message: str) -> None:
    try:
        print(message, file=sys.stderr)
    except (BrokenPipeError, OSError):
        pass


def _broken_pipe() -> int:
    # The reader went away (| head). Point stdout at /dev/null so the interpreter's
    # final flush cannot complain, and exit as a tool killed by SIGPIPE would.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return int(ExitCode.BROKEN_PIPE)
