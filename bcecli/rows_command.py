"""``bce rows``: every input row back out with its log loss, streamed chunk by chunk.

Only click and the shared options are imported here; pyarrow and the scoring pass
are imported when the command runs, so ``bce --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from bcecli.io.formats import OUTPUT_FORMATS
from bcecli.options import (
    CONTEXT_SETTINGS,
    EXIT_CODES_HELP,
    comma_list,
    input_options,
    make_readers,
    make_settings,
)

BROKEN_PIPE = 141  # bcecli.errors.ExitCode.BROKEN_PIPE, without importing it at startup


@click.command(context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@input_options
@click.option(
    "--keep",
    metavar="COL,...",
    multiple=True,
    help="Write only these columns (and log_loss); repeatable or comma-separated.",
)
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write to PATH (.csv, .tsv, .parquet, .ndjson/.jsonl; .gz/.bz2/.zst for text) "
    "instead of standard output. The file appears only once every row is written.",
)
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="Output format. Default: by the extension of -o; csv otherwise.",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary line on standard error.")
def rows(**options: Any) -> int:
    """Write every row of FILEs (or standard input) with its log loss appended.

    Rows come out in input order, chunk by chunk, as they are scored: on standard
    input, each row within about a second of its line. Invalid rows stop the run
    (exit 2) or, with --on-invalid skip, are left out.

    \b
    Examples:
      bce rows preds.csv | sort -t, -k7 -gr | head
      bce rows preds.parquet --keep id,segment -o losses.parquet
      tail -f preds.csv | bce rows - --output-format ndjson
    """
    from bcecli.errors import InputError
    from bcecli.io.writers import open_sink, output_format, write_rows
    from bcecli.scoring import InputStats, iter_row_losses

    path = options["output"]
    fmt = output_format(path, options["output_format"])
    settings = make_settings(options, keep=comma_list(options["keep"]))
    readers = make_readers(options)
    stats: list[InputStats] = []
    written = 0
    try:
        with open_sink(path, fmt, sys.stdout.buffer) as sink:
            rows = iter_row_losses(
                readers, settings, stats=stats, passthrough_text=fmt in ("csv", "tsv")
            )
            for count in write_rows(sink, rows, parallel=not _reads_stdin(readers)):
                written += count
            if not written:
                # Inside the block, so a file output is removed, as for any error.
                raise InputError(_no_rows_message(stats))
    except BrokenPipeError:
        raise click.exceptions.Exit(_stdout_closed()) from None
    if not options["quiet"]:
        _summary(written, stats, path)
    return 0


def _reads_stdin(readers: list[Any]) -> bool:
    return any(reader.source.is_stdin for reader in readers)


def _no_rows_message(stats: list[Any]) -> str:
    # The wording of score's "nothing to score" errors (scoring._check_population).
    from bcecli.errors import shown_path

    names = ", ".join(shown_path(s.path) for s in stats) or "the input"
    skipped = sum(s.skipped for s in stats)
    if skipped:
        return f"{names}: all {skipped} rows are invalid, so there is nothing to score."
    return f"{names}: no data rows to score."


def _summary(written: int, stats: list[Any], path: str | None) -> None:
    skipped = sum(s.skipped for s in stats)
    parts = []
    if path not in (None, "-"):
        parts.append(f"Wrote {_rows(written)} to {path}")
    if skipped:
        parts.append(f"skipped {_rows(skipped, 'invalid row')}")
    if parts:
        message = "; ".join(parts)
        click.echo(message[0].upper() + message[1:] + ".", err=True)


def _rows(count: int, noun: str = "row") -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _stdout_closed() -> int:
    # The reader went away (| head). click would turn the BrokenPipeError into exit
    # status 1, so handle it here: point stdout at /dev/null so the final flush
    # cannot complain, and exit as a tool stopped by SIGPIPE does.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return BROKEN_PIPE
