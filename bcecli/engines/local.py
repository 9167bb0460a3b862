"""``--engine local``: score every input in this process, chunks on a thread pool."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

from bcecli.core.state import ScoreState
from bcecli.io.columns import Columns
from bcecli.io.readers import Reader
from bcecli.scoring.batches import ChunkValidator
from bcecli.scoring.inputs import (
    OpenInput,
    ScoreResult,
    each_input,
    finish,
    read_chunks,
    scoring_workers,
)
from bcecli.scoring.native_arrow import fast_arrow, fast_parquet, score_arrow, score_parquet
from bcecli.scoring.native_csv import fast_text, score_text
from bcecli.scoring.passes import score_chunks
from bcecli.scoring.settings import Settings

# The C kernel's fast paths, each a check (the input as the kernel reads it, or None
# when the kernel cannot take this run) and the pass that scores it; tried in turn, the
# general path (chunks of Arrow tables) when none applies.
FAST_PATHS: tuple[tuple[Callable[[OpenInput, Settings], Any], Callable[..., None]], ...] = (
    (fast_text, score_text),
    (fast_parquet, score_parquet),
    (fast_arrow, score_arrow),
)


def score_readers(
    readers: Iterable[Reader],
    settings: Settings,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score every reader's rows as one population.

    Chunks are scored on a thread pool into partial states merged in input order;
    the exact sums make the result independent of that split.
    """
    columns: Columns | None = None
    state: ScoreState | None = None
    validator: ChunkValidator | None = None
    with closing(each_input(readers, settings)) as inputs:
        for opened in inputs:
            if state is None or validator is None:
                columns = opened.columns
                state = ScoreState(settings.state_config(columns))
                validator = ChunkValidator(columns, settings)
            workers = scoring_workers(settings, opened.reader)
            score_input(
                opened,
                state,
                validator=validator,
                settings=settings,
                workers=workers,
                on_progress=on_progress,
            )
    return finish(settings, columns, state)


def score_input(
    opened: OpenInput,
    state: ScoreState,
    *,
    validator: ChunkValidator,
    settings: Settings,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score one input's rows into ``state``: by the first fast path that takes it, or
    as chunks of Arrow tables (a Dask task scores its partition of a CSV file so too)."""
    for find, score_fast in FAST_PATHS:
        source = find(opened, settings)
        if source is not None:
            score_fast(
                source,
                opened,
                state,
                validator=validator,
                settings=settings,
                workers=workers,
                on_progress=on_progress,
            )
            return
    score_chunks(
        read_chunks(opened, settings),
        state,
        validator=validator,
        ref=opened.ref,
        settings=settings,
        workers=workers,
        on_progress=on_progress,
    )
