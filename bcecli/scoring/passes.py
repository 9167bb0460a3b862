"""Chunks scored into partial states, on a thread pool, merged in input order."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bcecli.core.batch import InputRef
from bcecli.core.state import ScoreState
from bcecli.errors import BceError
from bcecli.io.parallel import ordered_map
from bcecli.io.readers import Chunk, chunk_bytes
from bcecli.scoring.batches import ChunkValidator, make_batch
from bcecli.scoring.inputs import close_iterator
from bcecli.scoring.settings import Settings


@dataclass
class ChunkOutcome:
    """One chunk scored on its own: its partial state, or the error to raise in order."""

    read: int
    state: ScoreState | None = None
    error: BceError | None = None


def score_chunk(
    chunk: Chunk, *, validator: ChunkValidator, ref: InputRef, settings: Settings
) -> ChunkOutcome:
    """Validate and score one chunk into a fresh partial state (safe on any thread)."""
    read = chunk.table.num_rows
    try:
        valid = validator.validate(chunk)
    except BceError as error:
        return ChunkOutcome(read, error=error)
    columns = validator.columns
    state = ScoreState(settings.state_config(columns))
    state.update(make_batch(chunk, valid, ref, columns, settings))
    return ChunkOutcome(read, state)


def score_chunks(
    chunks: Iterable[Chunk],
    state: ScoreState,
    *,
    validator: ChunkValidator,
    ref: InputRef,
    settings: Settings,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score one input's chunks (or a partition of them) into ``state``.

    Chunks are scored on ``workers`` threads into partial states merged in order;
    the first invalid row in order raises, as a serial pass would.
    """
    state.open_input(ref)
    work = functools.partial(score_chunk, validator=validator, ref=ref, settings=settings)
    ordered = validator.in_row_order(chunks)
    outcomes = ordered_map(work, ordered, workers=workers, size=chunk_bytes)
    try:
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
            if on_progress is not None:
                on_progress(outcome.read)
            assert outcome.state is not None
            state.merge(outcome.state)
    finally:
        # The raised error's traceback holds this frame in a cycle: left to the garbage
        # collector, the generators' thread pools would be shut down (and joined) on
        # whatever thread collects them, which can deadlock inside Thread.start.
        close_iterator(outcomes)
        close_iterator(ordered)
        close_iterator(chunks)
