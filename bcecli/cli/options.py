"""Option bundles shared by the commands, each parsed into one typed object at the edge.

A bundle is a decorator: it adds its click options to a command and hands the command
one frozen dataclass (``inputs: InputOptions``, ``gates: GateOptions``, ``engine:
EngineOptions``) in place of the loose values, so a command body never reads options
by string keys. Only click is imported here: ``bce --help`` stays fast.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bcecli.engines import ENGINES, SCHEDULER_VARIABLE
from bcecli.errors import UsageError
from bcecli.io.formats import INPUT_FORMATS, format_by_extension, split_compression
from bcecli.report.renderers import RENDERERS, Renderer

if TYPE_CHECKING:
    from bcecli.engines import Engine
    from bcecli.gate import Increase
    from bcecli.io.readers import Reader
    from bcecli.scoring.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _exit_codes_help(*own: tuple[int, str]) -> str:
    """A command's "Exit status" epilog: its own statuses, then those every command has."""
    common = ((130, "interrupted (Ctrl-C)"), (141, "output pipe closed (for example by head)"))
    lines = [f"  {code:<4} {meaning}" for code, meaning in sorted(own + common)]
    return "\n\b\nExit status:\n" + "\n".join(lines) + "\n"


_INPUT_ERROR = (2, "usage error, or invalid or unreadable input")
# Each command's help states only the statuses it can return: only score gates.
SCORE_EXIT_CODES_HELP = _exit_codes_help(
    (0, "scored, and every gate passed"),
    (1, "scored, and a gate failed (--max-loss, --max-ne, --max-increase)"),
    _INPUT_ERROR,
)
ROWS_EXIT_CODES_HELP = _exit_codes_help((0, "every row written"), _INPUT_ERROR)
SCHEMA_EXIT_CODES_HELP = _exit_codes_help((0, "schema printed"), (2, "usage error"))
EXIT_CODES_HELP = _exit_codes_help(
    (0, "success (bce score: scored, and every gate passed)"),
    (1, "bce score only: scored, and a gate failed (--max-loss, --max-ne, --max-increase)"),
    _INPUT_ERROR,
)


def comma_list(values: Sequence[str]) -> tuple[str, ...]:
    """``--keep a,b --keep c`` as ("a", "b", "c")."""
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(names)


def _bundle(
    options: list[Callable[[F], F]], name: str, build: Callable[..., object], params: Sequence[str]
) -> Callable[[F], F]:
    """A decorator adding ``options`` whose values ``build`` turns into one argument ``name``."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {param: kwargs.pop(param) for param in params}
            kwargs[name] = build(**values)
            return command(*args, **kwargs)

        decorated: Any = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        result: F = decorated
        return result

    return decorate


# -- inputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InputOptions:
    """What to read and how: the options of every command that reads predictions."""

    files: tuple[str, ...]
    label: str | None
    prob: tuple[str, ...]
    logit: str | None
    weight: str | None
    pos_label: str | None
    eps: float | None
    on_invalid: str
    no_header: bool
    input_format: str | None
    delimiter: str | None
    chunk_size: int | None

    def settings(
        self,
        *,
        by: tuple[str, ...] = (),
        keep: tuple[str, ...] = (),
        calibration: int | None = None,
        worst: int = 0,
    ) -> Settings:
        from bcecli.core.loss import DEFAULT_EPS
        from bcecli.io.columns import ColumnSpec
        from bcecli.scoring.settings import DEFAULT_CHUNK_SIZE, Settings

        spec = ColumnSpec(
            label=self.label,
            prob=self.prob,
            logit=self.logit,
            weight=self.weight,
            by=by,
            keep=keep,
        )
        return Settings(
            columns=spec,
            eps=DEFAULT_EPS if self.eps is None else self.eps,
            on_invalid=self.on_invalid,
            chunk_size=self.chunk_size or DEFAULT_CHUNK_SIZE,
            pos_label=self.pos_label,
            no_header=self.no_header,
            calibration=calibration,
            worst=worst,
        )

    def readers(self) -> list[Reader]:
        from bcecli.io.readers import LazyReader
        from bcecli.io.sources import make_sources

        sources = make_sources(self.files, input_format=self.input_format, delimiter=self.delimiter)
        if any(source.is_stdin for source in sources) and sys.stdin.isatty():
            click.echo("waiting for standard input...", err=True)
        return [LazyReader(source, no_header=self.no_header) for source in sources]


def _readable_name(name: str) -> bool:
    """True for a file name bce reads by its extension (``preds.csv.gz``, ``x.parquet``)."""
    stem, compression = split_compression(name)
    fmt = format_by_extension(stem, INPUT_FORMATS)
    return fmt is not None and not (fmt == "parquet" and compression)


def complete_inputs(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion of FILE: the folders (Parquet datasets, or the way to a file) and
    the CSV, TSV and Parquet files whose names begin as typed; hidden ones only when a
    dot is typed. ``-`` and URLs are typed, not completed.

    A lone folder comes with what it holds, so the shell stops after its ``/`` (one
    candidate would end the word with a space) and the next TAB goes on inside it.
    """
    from click.shell_completion import CompletionItem

    if "://" in incomplete:
        return []
    head, sep, start = incomplete.rpartition(os.sep)
    found = _entries(head + sep, start)
    if len(found) == 1 and found[0].endswith(os.sep):
        found += _entries(found[0], "")
    return [CompletionItem(path) for path in found]


def _entries(folder: str, start: str) -> list[str]:
    """``folder`` + each name in it that begins with ``start`` and bce could read (a
    folder with ``/`` after it), sorted."""
    try:
        with os.scandir(os.path.expanduser(folder) or os.curdir) as listing:
            entries = [
                (entry.name, entry.is_dir())
                for entry in listing
                if entry.name.startswith(start) and (start or not entry.name.startswith("."))
            ]
    except OSError:
        return []
    return sorted(
        folder + name + (os.sep if is_dir else "")
        for name, is_dir in entries
        if is_dir or _readable_name(name)
    )


input_options = _bundle(
    [
        click.argument("files", nargs=-1, metavar="[FILE]...", shell_complete=complete_inputs),
        click.option(
            "-y", "--label", metavar="COL", help="Label column (0/1, true/false, or two classes)."
        ),
        click.option(
            "-p",
            "--prob",
            metavar="COL",
            multiple=True,
            help="Probability column; repeat to compare several models on the same rows.",
        ),
        click.option("--logit", metavar="COL", help="Raw-score (logit) column instead of --prob."),
        click.option("-w", "--weight", metavar="COL", help="Weight column (non-negative)."),
        click.option(
            "--pos-label",
            metavar="VALUE",
            help="The positive class when labels are two strings (e.g. spam).",
        ),
        click.option(
            "--eps",
            type=float,
            default=None,
            metavar="X",
            help="Clip p to [X, 1-X] (0 < X < 0.5). Default: float64 machine epsilon.",
        ),
        click.option(
            "--on-invalid",
            type=click.Choice(["error", "skip"]),
            default="error",
            show_default=True,
            help="Stop at the first invalid row, or leave invalid rows out and count them.",
        ),
        click.option("--no-header", is_flag=True, help="No header line: name columns 1, 2, ..."),
        click.option(
            "--input-format",
            type=click.Choice(INPUT_FORMATS),
            default=None,
            help="Format of standard input (default csv) or of files with another extension.",
        ),
        click.option(
            "-d", "--delimiter", metavar="CHAR", help="Field delimiter (default: by extension)."
        ),
        click.option(
            "--chunk-size",
            type=click.IntRange(min=1),
            default=None,
            metavar="ROWS",
            help="Rows per chunk, the unit that bounds memory: Parquet is decoded in batches of "
            "at most ROWS rows, CSV parsed in blocks of about ROWS rows (1 MiB of text at "
            "least). Never changes a result.",
        ),
    ],
    "inputs",
    InputOptions,
    [field for field in InputOptions.__dataclass_fields__],
)


# -- reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFiles:
    """``--report-json PATH`` and its like: where to write which renderer's report."""

    paths: dict[str, str]  # renderer name -> path


def _file_param(renderer: Renderer) -> str:
    assert renderer.file_option is not None
    return renderer.file_option.removeprefix("--").replace("-", "_")


_FILE_RENDERERS = [renderer for renderer in RENDERERS if renderer.file_option]


def _report_files(**paths: str | None) -> ReportFiles:
    return ReportFiles(
        {
            renderer.name: path
            for renderer in _FILE_RENDERERS
            if (path := paths[_file_param(renderer)])
        }
    )


output_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice([renderer.name for renderer in RENDERERS]),
    default="table",
    show_default=True,
    help="What to print on standard output.",
)

report_file_options = _bundle(
    [
        click.option(
            renderer.file_option,
            _file_param(renderer),
            type=click.Path(dir_okay=False),
            metavar="PATH",
            help=renderer.file_help,
        )
        for renderer in _FILE_RENDERERS
        if renderer.file_option
    ],
    "report_files",
    _report_files,
    [_file_param(renderer) for renderer in _FILE_RENDERERS],
)


# -- gates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GateOptions:
    """The quality-gate options as given (checked against each other by ``bcecli.gate``)."""

    max_loss: float | None
    max_ne: float | None
    baseline: str | None
    max_increase: Increase | None
    gate_groups: bool
    junit_xml: str | None

    def limits(self) -> dict[str, float]:
        """The limit gates asked for, by check name (``bcecli.gate.LIMITS``)."""
        from bcecli.gate import LIMITS

        asked = {limit.check: getattr(self, limit.check) for limit in LIMITS}
        return {check: value for check, value in asked.items() if value is not None}


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


gate_options = _bundle(
    [
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
            # A path for shell completion; bce reads and checks the file itself.
            type=click.Path(readable=False),
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
            help="Write one JUnit test case per gate check to PATH, for CI test reporters "
            "(one test case in error, with the reason, when the input cannot be scored).",
        ),
    ],
    "gates",
    GateOptions,
    [field for field in GateOptions.__dataclass_fields__],
)


# -- engine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineOptions:
    engine: str
    scheduler: str | None

    def choose(self) -> Engine:
        """The checked engine, before any input is read (a missing extra costs no time)."""
        from bcecli.engines import Engine

        return Engine.choose(self.engine, self.scheduler)


engine_options = _bundle(
    [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="local",
            show_default=True,
            help="Score here, or on an existing Dask cluster (needs Dask: "
            "pip install 'dask[distributed]'): each Parquet row group or CSV file is scored "
            "on a worker; the report is the same.",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help=f"The Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786 "
            f"(default: ${SCHEDULER_VARIABLE}).",
        ),
    ],
    "engine",
    EngineOptions,
    [field for field in EngineOptions.__dataclass_fields__],
)
