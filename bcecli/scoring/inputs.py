"""The per-input loop that every engine and ``bce rows`` share.

Inputs are read in order. The first input's header resolves the column names (label,
predictions, weight, ``--by``, ``--keep``); every later input must resolve to the same
names, or the run stops naming the one that differs. Each reader is closed when its
turn ends, whatever happens in it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass

from bcecli.core.batch import InputRef
from bcecli.core.inputs import InputStats
from bcecli.core.state import ScoreState
from bcecli.errors import InputError, UsageError, shown_path
from bcecli.io.columns import Columns, resolve_columns
from bcecli.io.parallel import default_workers
from bcecli.io.readers import Chunk, Reader
from bcecli.scoring.settings import Settings


@dataclass
class OpenInput:
    """One input whose turn it is: where it stands, its reader, the population's columns."""

    ref: InputRef
    reader: Reader
    columns: Columns


@dataclass
class ScoreResult:
    """The finished pass: what the report is made of."""

    settings: Settings
    columns: Columns
    inputs: list[InputStats]
    state: ScoreState


def each_input(readers: Iterable[Reader], settings: Settings) -> Generator[OpenInput, None, None]:
    """Every reader in input order, with the columns the whole population is read by.

    Close the iterator (``contextlib.closing``) when stopping early: the current
    reader is closed as the iterator is.
    """
    columns: Columns | None = None
    first_path = ""
    for index, reader in enumerate(readers):
        try:
            path = reader.source.path
            resolved = resolve_columns(settings.columns, reader.column_names, path)
            if columns is None:
                columns, first_path = resolved, path
            elif resolved != columns:
                raise columns_differ(path, resolved, first_path, columns)
            yield OpenInput(InputRef(index, path, reader.source.format), reader, columns)
        finally:
            reader.close()


def column_types(columns: Columns) -> tuple[list[str], tuple[str, ...]]:
    """(float columns, text columns) to ask a reader for: predictions and weight are
    numbers, and --by columns text, so a group never splits by per-block type guessing."""
    float_columns = list(columns.predictions)
    if columns.weight:
        float_columns.append(columns.weight)
    return float_columns, columns.by


def read_chunks(
    opened: OpenInput, settings: Settings, needed: Sequence[str] | None = None
) -> Iterator[Chunk]:
    """The input's chunks of the columns scoring needs (or ``needed``), typed for scoring."""
    columns = opened.columns
    float_columns, text_columns = column_types(columns)
    return opened.reader.chunks(
        list(columns.needed if needed is None else needed),
        settings.chunk_size,
        float_columns,
        text_columns,
    )


def scoring_workers(settings: Settings, reader: Reader, *, streaming: bool = False) -> int:
    """Threads to score one input's chunks on.

    Standard input stays on one thread when rows are written as its lines arrive
    (``streaming``): a pool would wait for more. (The label rule, --pos-label's
    negative class included, is learnt in row order before the pool: see
    ``ChunkValidator.in_row_order``.)
    """
    if streaming and reader.source.is_stdin:
        return 1
    return default_workers()


def finish(settings: Settings, columns: Columns | None, state: ScoreState | None) -> ScoreResult:
    """The result of a pass over every input, once it is checked there was something to score."""
    if columns is None or state is None:
        raise UsageError("No input to score.")
    inputs = state.input_stats()
    check_population(state, inputs)
    return ScoreResult(settings, columns, inputs, state)


def check_population(state: ScoreState, inputs: list[InputStats]) -> None:
    """Raise when the population has no rows, or no weight, to take a mean over."""
    if state.total.rows == 0:
        raise InputError(nothing_to_score(inputs))
    if state.total.weight.finite and state.total.weight.units == 0:
        raise InputError(f"{_names(inputs)}: every weight is zero, so there is no mean to take.")


def nothing_to_score(inputs: list[InputStats]) -> str:
    """The sentence for a pass that found no valid row (all invalid, or none at all)."""
    skipped = sum(stats.skipped for stats in inputs)
    if skipped:
        return f"{_names(inputs)}: all {skipped} rows are invalid, so there is nothing to score."
    return f"{_names(inputs)}: no data rows to score."


def _names(inputs: list[InputStats]) -> str:
    if not inputs:
        return "the input"
    if len(inputs) <= 3:
        return ", ".join(shown_path(stats.path) for stats in inputs)
    return f"{shown_path(inputs[0].path)} and {len(inputs) - 1} other inputs"


def columns_differ(path: str, resolved: Columns, first_path: str, first: Columns) -> InputError:
    """Every input is read by the first one's column names: say which one differs."""
    pairs: list[tuple[str, str | None, str | None]] = [
        ("label", resolved.label, first.label),
        *[("prediction", a, b) for a, b in zip(resolved.predictions, first.predictions)],
        ("weight", resolved.weight, first.weight),
        *[("--by", a, b) for a, b in zip(resolved.by, first.by)],
        *[("--keep", a, b) for a, b in zip(resolved.keep, first.keep)],
    ]
    differ = [pair for pair in pairs if pair[1] != pair[2]]
    what = (
        f"its {differ[0][0]} column is {differ[0][1]!r} but {shown_path(first_path)}'s is "
        f"{differ[0][2]!r}"
        if differ
        else f"its columns differ from those of {shown_path(first_path)}"
    )
    return InputError(
        f"{shown_path(path)}: {what}; give the files the same column names, "
        "or score them separately."
    )


def close_iterator(iterator: object) -> None:
    """Close a generator now (running its cleanup here), if it is one."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()
