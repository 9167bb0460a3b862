"""Options shared by every command that reads predictions, and what they build."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from bcecli.io.formats import INPUT_FORMATS

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EXIT_CODES_HELP = """
\b
Exit status:
  0    scored, and every gate passed
  1    scored, and a gate failed (--max-loss, --max-ne, --max-increase)
  2    usage error, or invalid or unreadable input
  130  interrupted (Ctrl-C)
  141  output pipe closed (for example by head)
"""


def comma_list(values: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(names)


def input_options(command: F) -> F:
    """The options every command that reads predictions shares."""
    decorators = [
        click.argument("files", nargs=-1, metavar="[FILE]..."),
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
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def make_settings(options: dict[str, Any], **extra: Any) -> Any:
    from bcecli.core.loss import DEFAULT_EPS
    from bcecli.io.columns import ColumnSpec
    from bcecli.scoring import DEFAULT_CHUNK_SIZE, Settings

    spec = ColumnSpec(
        label=options["label"],
        prob=tuple(options["prob"]),
        logit=options["logit"],
        weight=options["weight"],
        by=tuple(extra.pop("by", ())),
        keep=tuple(extra.pop("keep", ())),
    )
    return Settings(
        columns=spec,
        eps=DEFAULT_EPS if options["eps"] is None else options["eps"],
        on_invalid=options["on_invalid"],
        chunk_size=options["chunk_size"] or DEFAULT_CHUNK_SIZE,
        pos_label=options["pos_label"],
        no_header=options["no_header"],
        **extra,
    )


def make_readers(options: dict[str, Any]) -> list[Any]:
    from bcecli.io.readers import LazyReader
    from bcecli.io.sources import make_sources

    sources = make_sources(
        options["files"], input_format=options["input_format"], delimiter=options["delimiter"]
    )
    if any(source.is_stdin for source in sources) and sys.stdin.isatty():
        click.echo("waiting for standard input...", err=True)
    return [LazyReader(source, no_header=options["no_header"]) for source in sources]
