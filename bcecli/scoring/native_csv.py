"""The CSV fast path: blocks of plain delimited text scored by the C kernel in one pass.

The kernel parses only the label, prediction and weight fields of each line, converts
them exactly (the bits of Python's ``float()``), validates them, computes the loss and
adds every sum of the report exactly, on worker threads without the GIL. A block it
cannot score whole (quotes, a field count that differs, a missing or invalid value,
a spelling it does not read) goes to the general parser in row order, so the numbers,
the errors and the row numbers are those of the general path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bcecli._native import kernel
from bcecli.core.loss_histogram import EDGES_BUFFER
from bcecli.core.state import ScoreState
from bcecli.io.convert import BOOLEANS
from bcecli.io.parallel import ordered_map
from bcecli.io.reader_base import (
    Chunk,
    DelimitedText,
    TextBlock,
    column_keys,
    delimited_text,
    slice_rows,
)
from bcecli.scoring.batches import ChunkValidator
from bcecli.scoring.inputs import OpenInput, close_iterator, column_types
from bcecli.scoring.native_parts import (
    MAX_BIN_CELLS,
    MAX_BINS,
    MAX_BY,
    MAX_WORST,
    add_scanned,
)
from bcecli.scoring.passes import score_chunks
from bcecli.scoring.settings import Settings


def fast_text(opened: OpenInput, settings: Settings) -> DelimitedText | None:
    """The input as raw text blocks when the kernel can score it: it is built, the input
    is delimited text with a one-byte delimiter, labels follow the 0/1 rule, and the
    report needs nothing the kernel does not keep (no --worst --keep; --by, --calibration
    and --worst within its bounds)."""
    columns = opened.columns
    roles = [columns.label, *columns.predictions, *columns.by]
    if columns.weight:
        roles.append(columns.weight)
    if (
        kernel is None
        or settings.pos_label is not None
        or (settings.worst and columns.keep)
        or settings.worst > MAX_WORST
        or (settings.calibration or 0) > MAX_BINS
        or (settings.calibration or 0) * len(columns.predictions) > MAX_BIN_CELLS
        or len(columns.by) > MAX_BY
        or len(columns.predictions) > 64
        # A column with two roles (a --by column also the weight) is the general path's.
        or len(set(roles)) != len(roles)
    ):
        return None
    text = delimited_text(opened.reader)
    if text is None:
        return None
    delimiter = text.source.delimiter.encode("utf-8")
    if len(delimiter) != 1 or delimiter in b'"\r\n':
        return None
    return text


def score_text(
    text: DelimitedText,
    opened: OpenInput,
    state: ScoreState,
    *,
    validator: ChunkValidator,
    settings: Settings,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score one input's text into ``state``: blocks scanned by the kernel on ``workers``
    threads, merged in row order; a block it declines parsed and scored as chunks."""
    assert kernel is not None
    columns = opened.columns
    ref = opened.ref
    keys = column_keys(text.column_names)
    field = {key: index for index, key in enumerate(keys)}
    config: tuple[Any, ...] = (
        ord(text.source.delimiter),
        len(keys),
        field[columns.label],
        [field[name] for name in columns.predictions],
        field[columns.weight] if columns.weight else -1,
        columns.logit,
        settings.eps,
        [field[name] for name in columns.by],
        settings.calibration or 0,
        settings.worst,
        EDGES_BUFFER,
    )

    def scan(block: TextBlock) -> tuple[TextBlock, Any]:
        return block, kernel.scan_csv(block[0], *config)

    state.open_input(ref)
    blocks = text.text_blocks(settings.chunk_size)
    scanned: Iterator[tuple[TextBlock, Any]]
    if text.source.is_stdin:
        # Each block scored as its lines arrive: a pool would wait for the next block.
        scanned = (scan(block) for block in blocks)
    else:
        scanned = ordered_map(scan, blocks, workers=workers, size=lambda block: len(block[0]))
    parser = None
    rows_before = 0
    try:
        for (block, through), result in scanned:
            # Rows scanned under the 0/1 rule count only if the rule is not true/false.
            if result is not None and validator.labels.kind != BOOLEANS:
                rows = add_scanned(state, ref, text.source.path, rows_before, result)
                if rows:
                    validator.labels.numbers_seen()
            else:
                if parser is None:
                    parser = text.block_parser(columns.needed, *column_types(columns))
                table = parser.parse(block, rows_before)
                rows = table.num_rows
                # In row order, on this thread: the rows before it are merged already.
                score_chunks(
                    (
                        Chunk(text.source.path, rows_before + offset + 1, piece, through)
                        for offset, piece in slice_rows(table, settings.chunk_size)
                    ),
                    state,
                    validator=validator,
                    ref=ref,
                    settings=settings,
                    workers=1,
                )
            rows_before += rows
            if on_progress is not None:
                on_progress(rows)
    finally:
        close_iterator(scanned)
        close_iterator(blocks)
