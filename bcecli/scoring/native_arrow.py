"""The Arrow fast paths: Parquet row groups and Arrow IPC record batches scored by the
C kernel on the Arrow buffers, on worker threads.

Parquet: each row group decoded and scored by the kernel on a worker.

Each row group is decoded by pyarrow on its own worker thread (Arrow's own thread pool
off: one row group per core costs less than every core on every row group), in
chunks of at most ``--chunk-size`` rows, and each chunk's label, prediction and weight
columns are scored by the kernel on the Arrow buffers in place: validated, their losses
computed and every sum of the report (and the loss histogram) added exactly, with no
numpy copy. What is held
at once is a few chunks, however many row groups there are.

A chunk the kernel declines (a missing or invalid value, a type it does not read, a
label that is not 0 or 1) is handed back with the rest of its row group, which the
general path scores in row order, so the numbers, the errors and the row numbers are
those of the general path.

Arrow IPC: the record batches are already Arrow buffers (memory-mapped, for a local
file), so the reader's chunks go straight to the kernel on the thread pool; a chunk it
declines is scored by the general path on the same worker, and every chunk's result
joins the state in row order.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bcecli._native import kernel
from bcecli.core.accumulate import GroupSums, sums_from_kernel
from bcecli.core.loss_histogram import EDGES_BUFFER, LossHistogramSums
from bcecli.core.state import ScoreState
from bcecli.io.columns import Columns
from bcecli.io.convert import BOOLEANS
from bcecli.io.parallel import ordered_map
from bcecli.io.reader_base import Chunk, Reader, chunk_bytes
from bcecli.scoring.batches import ChunkValidator
from bcecli.scoring.inputs import OpenInput, close_iterator, read_chunks
from bcecli.scoring.passes import ChunkOutcome, score_chunk, score_chunks
from bcecli.scoring.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

    from bcecli.io.parquet_reader import ParquetReader, RowGroup

# The Arrow value types the kernel reads, by the type's name: its type codes.
_LABEL_TYPES = {
    "int8": "b",
    "int16": "h",
    "int32": "i",
    "int64": "q",
    "uint8": "B",
    "uint16": "H",
    "uint32": "I",
    "uint64": "Q",
    "float": "f",
    "double": "d",
}
_FLOAT_TYPES = {"float": "f", "double": "d"}

ColumnSpec = tuple[str, "pa.Buffer", int]


def fast_parquet(opened: OpenInput, settings: Settings) -> ParquetReader | None:
    """The input's Parquet reader when the kernel can score it: it is built, the input
    is Parquet whose first file stores the label, prediction and weight columns in
    types the kernel reads, and the report needs the population's sums only (no --by,
    --calibration, --worst; labels by the 0/1 rule)."""
    columns = opened.columns
    if not _kernel_takes(columns, settings) or opened.reader.source.format != "parquet":
        return None
    # A ParquetReader, behind a LazyReader; not behind the progress bar's wrapper.
    find = getattr(opened.reader, "parquet_reader", None)
    reader: ParquetReader | None = None if find is None else find()
    if reader is None:
        return None
    types = reader.column_types(_scored(columns))
    if types is None:
        return None
    label, *others = types
    if str(label) not in _LABEL_TYPES or any(str(kind) not in _FLOAT_TYPES for kind in others):
        return None
    return reader


def _kernel_takes(columns: Columns, settings: Settings) -> bool:
    """The kernel is built and the report needs the population's sums only (no --by,
    --calibration, --worst; labels by the 0/1 rule)."""
    return not (
        kernel is None
        or not hasattr(kernel, "arrow_sums")
        or settings.pos_label is not None
        or settings.worst
        or settings.calibration
        or columns.by
        or len(columns.predictions) > 64
    )


def fast_arrow(opened: OpenInput, settings: Settings) -> Reader | None:
    """The input's reader when the kernel can score it: the input is Arrow IPC and the
    report needs the population's sums only (whether each chunk's types and values suit
    the kernel is its own question, chunk by chunk)."""
    if not _kernel_takes(opened.columns, settings) or opened.reader.source.format != "arrow":
        return None
    return opened.reader


def score_arrow(
    reader: Reader,
    opened: OpenInput,
    state: ScoreState,
    *,
    validator: ChunkValidator,
    settings: Settings,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score one Arrow IPC input into ``state``: each chunk scored on ``workers``
    threads by the kernel on its buffers, or, where it declines, by the general path;
    the results merged in row order, so the first invalid row in order raises."""
    del reader  # the same as opened.reader: read through read_chunks, as the general path
    columns = opened.columns
    ref = opened.ref
    general = functools.partial(score_chunk, validator=validator, ref=ref, settings=settings)

    def score(chunk: Chunk) -> ChunkOutcome | tuple[int, GroupSums, LossHistogramSums]:
        # The rule true/false (an earlier file's labels settled it, before this chunk was
        # handed on) makes 0 and 1 invalid: the general path says where.
        if validator.labels.kind != BOOLEANS:
            scored = arrow_sums(chunk.table, columns, settings)
            if scored is not None:
                return chunk.table.num_rows, *scored
        return general(chunk)

    state.open_input(ref)
    chunks = read_chunks(opened, settings)
    # The label rule is learnt in row order before the pool, as the general path learns it.
    ordered = validator.in_row_order(chunks)
    outcomes = ordered_map(score, ordered, workers=workers, size=chunk_bytes)
    try:
        for outcome in outcomes:
            if isinstance(outcome, ChunkOutcome):
                if outcome.error is not None:
                    raise outcome.error
                assert outcome.state is not None
                state.merge(outcome.state)
                read = outcome.read
            else:
                read, sums, histogram = outcome
                state.add_sums(ref, sums, histogram)
            if on_progress is not None:
                on_progress(read)
    finally:
        close_iterator(outcomes)
        close_iterator(ordered)
        close_iterator(chunks)


def _scored(columns: Columns) -> list[str]:
    """The columns the kernel reads, in its order: label, predictions, weight."""
    return [columns.label, *columns.predictions, *([columns.weight] if columns.weight else [])]


def _spec(array: pa.Array, types: dict[str, str]) -> ColumnSpec | None:
    """A column as the kernel takes it (type code, values buffer, offset), or None
    when it has a missing value or a type the kernel does not read."""
    code = types.get(str(array.type))
    if code is None or array.null_count:
        return None
    values = array.buffers()[1]
    if values is None:
        return None
    return code, values, array.offset


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def arrow_sums(
    table: pa.Table, columns: Columns, settings: Settings
) -> tuple[GroupSums, LossHistogramSums] | None:
    """A chunk scored by the kernel on its Arrow buffers: its sums and loss histogram, or
    None when a row needs the general path (a missing or invalid value, a label other
    than 0 and 1, a type the kernel does not read)."""
    assert kernel is not None
    label = _spec(_column(table, columns.label), _LABEL_TYPES)
    predictions = [_spec(_column(table, name), _FLOAT_TYPES) for name in columns.predictions]
    weight = _spec(_column(table, columns.weight), _FLOAT_TYPES) if columns.weight else None
    if label is None or None in predictions or (columns.weight and weight is None):
        return None
    raw = kernel.arrow_sums(
        label, predictions, weight, table.num_rows, columns.logit, settings.eps, EDGES_BUFFER
    )
    if raw is None:
        return None
    groups, histogram = raw
    return sums_from_kernel(groups)[0], LossHistogramSums.from_kernel(histogram)


@dataclass
class GroupOutcome:
    """One row group on a worker: the sums of its chunks the kernel scored, and the
    first it declined with the rest of the row group, for the general path."""

    part: RowGroup
    sums: GroupSums | None = None
    histogram: LossHistogramSums | None = None
    rows: int = 0
    declined: Chunk | None = None
    rest: Iterator[Chunk] = field(default_factory=lambda: iter(()))


def score_parquet(
    reader: ParquetReader,
    opened: OpenInput,
    state: ScoreState,
    *,
    validator: ChunkValidator,
    settings: Settings,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score one Parquet input into ``state``: row groups decoded and scored by the
    kernel on ``workers`` threads, merged in row order; a chunk it declines, and the
    rest of its row group, scored by the general path in row order."""
    columns = opened.columns
    ref = opened.ref
    needed = list(columns.needed)

    def score_group(part: RowGroup) -> GroupOutcome:
        outcome = GroupOutcome(part)
        chunks = reader.row_group_tables(part, needed, settings.chunk_size)
        for chunk in chunks:
            scored = arrow_sums(chunk.table, columns, settings)
            if scored is None:
                outcome.declined, outcome.rest = chunk, chunks
                return outcome
            sums, histogram = scored
            if outcome.sums is None or outcome.histogram is None:
                outcome.sums, outcome.histogram = sums, histogram
            else:
                outcome.sums.merge(sums)
                outcome.histogram.merge(histogram)
            outcome.rows += chunk.table.num_rows
        return outcome

    def general(chunks: Iterator[Chunk]) -> None:
        score_chunks(
            chunks,
            state,
            validator=validator,
            ref=ref,
            settings=settings,
            workers=workers,
            on_progress=on_progress,
        )

    state.open_input(ref)
    parts = reader.row_groups(needed)
    # A row group in flight holds a chunk or two decoded: one per worker, and one more.
    outcomes = ordered_map(score_group, parts, workers=workers)
    try:
        for outcome in outcomes:
            if outcome.sums is not None and outcome.histogram is not None:
                if validator.labels.kind == BOOLEANS:
                    # The rule is true/false (an earlier file's labels settled it), under
                    # which 0 and 1 are invalid: the general path says where.
                    close_iterator(outcome.rest)
                    general(reader.row_group_tables(outcome.part, needed, settings.chunk_size))
                    continue
                validator.labels.numbers_seen()
                state.add_sums(ref, outcome.sums, outcome.histogram)
                if on_progress is not None:
                    on_progress(outcome.rows)
            if outcome.declined is not None:
                general(itertools.chain([outcome.declined], outcome.rest))
    finally:
        close_iterator(outcomes)
        close_iterator(parts)
