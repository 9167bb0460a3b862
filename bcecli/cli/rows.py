"""``bce rows``: every input row back out with its log loss, streamed chunk by chunk.

Only click and the shared options are imported here; pyarrow and the scoring pass
are imported when the command runs, so ``bce --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bcecli.cli.options import (
    CONTEXT_SETTINGS,
    ROWS_EXIT_CODES_HELP,
    InputOptions,
    comma_list,
    input_options,
)
from bcecli.io.formats import OUTPUT_FORMATS

if TYPE_CHECKING:
    from bcecli.io.readers import Reader


@click.command(context_settings=CONTEXT_SETTINGS, epilog=ROWS_EXIT_CODES_HELP)
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
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bar or summary line on standard error. (The bar shows only when "
    "standard error is a terminal and the rows do not go to the terminal too.)",
)
def rows(
    *,
    inputs: InputOptions,
    keep: tuple[str, ...],
    output: str | None,
    output_format: str | None,
    quiet: bool,
) -> int:
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
    from bcecli.cli.progress import Progress
    from bcecli.core.inputs import InputCounts
    from bcecli.errors import InputError
    from bcecli.io.writers import open_sink, write_rows
    from bcecli.io.writers import output_format as chosen_format
    from bcecli.scoring.inputs import nothing_to_score
    from bcecli.scoring.rows import iter_row_losses

    fmt = chosen_format(output, output_format)
    settings = inputs.settings(keep=comma_list(keep))
    readers = inputs.readers()
    counts = InputCounts()
    written = 0
    # No display where the rows themselves are printed: it would be drawn among them.
    progress = Progress(readers, quiet=quiet or _to_terminal(output))
    with open_sink(output, fmt, sys.stdout.buffer) as sink, progress:
        table = iter_row_losses(
            progress.readers,
            settings,
            counts=counts,
            passthrough_text=fmt in ("csv", "tsv"),
            distinct_names=fmt == "ndjson",
        )
        for count in write_rows(sink, table, parallel=not _reads_stdin(readers)):
            written += count
        if not written:
            # Inside the block, so a file output is removed, as for any error.
            raise InputError(nothing_to_score(counts.in_order()))
    if not quiet:
        _summary(written, counts.skipped, output)
    return 0


def _to_terminal(output: str | None) -> bool:
    """True when the rows are written to a terminal."""
    return output in (None, "-") and sys.stdout.isatty()


def _reads_stdin(readers: list[Reader]) -> bool:
    return any(reader.source.is_stdin for reader in readers)


def _summary(written: int, skipped: int, path: str | None) -> None:
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
