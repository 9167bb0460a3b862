"""The ``bce rows`` pipeline: each chunk's valid rows with their losses, in input order."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bcecli.core.inputs import InputCounts
from bcecli.errors import BceError, InputError, shown_path
from bcecli.io.columns import Columns, repeats
from bcecli.io.convert import bool_array
from bcecli.io.parallel import ordered_map
from bcecli.io.readers import Chunk, Reader, chunk_bytes, column_keys
from bcecli.scoring.batches import ChunkValidator, ValidRows, losses_of
from bcecli.scoring.inputs import close_iterator, each_input, scoring_workers
from bcecli.scoring.settings import Settings


def iter_row_losses(
    readers: Iterable[Reader],
    settings: Settings,
    *,
    output_columns: Sequence[str] | None = None,
    counts: InputCounts | None = None,
    passthrough_text: bool = False,
    distinct_names: bool = False,
) -> Iterator[pa.Table]:
    """Each chunk's valid rows with a ``log_loss`` column appended, in input order.

    ``output_columns`` None keeps every input column, or only the resolved
    ``settings.columns.keep`` when that names some. With several prediction columns
    the losses are named ``log_loss_<column>``. An input column of the same name as
    a loss column is left out rather than written twice. Every input must have the
    same output columns, since they go to one table. ``passthrough_text`` keeps the
    columns that are only passed through as the input's text (for CSV output).
    The output's columns are named as the input's, repeated names included, unless
    ``distinct_names`` (JSON objects hold each key once) refuses a repeat.
    ``counts`` receives every input's rows written and skipped.
    """
    counts = InputCounts() if counts is None else counts
    validator: ChunkValidator | None = None
    first: tuple[str, list[str]] | None = None
    with closing(each_input(readers, settings)) as inputs:
        for opened in inputs:
            columns, reader, path = opened.columns, opened.reader, opened.ref.path
            if validator is None:
                validator = ChunkValidator(columns, settings)
            # Columns are asked for by key (a repeated name's columns have distinct
            # keys) and written under the header's names. Names in --keep occur once,
            # so they are their own keys.
            header = list(reader.column_names)
            keys = column_keys(header)
            name_of = dict(zip(keys, header))
            if output_columns is not None:
                wanted = list(output_columns)
            elif columns.keep:
                wanted = list(columns.keep)
            else:
                wanted = keys
            loss_names = (
                ["log_loss"]
                if len(columns.predictions) == 1
                else [f"log_loss_{name}" for name in columns.predictions]
            )
            shown = [key for key in dict.fromkeys(wanted) if name_of.get(key) not in loss_names]
            names = [name_of.get(key, key) for key in shown]
            if first is None:
                first = (path, names)
            elif names != first[1]:
                raise InputError(
                    f"{shown_path(path)} has the columns {', '.join(names)}, unlike "
                    f"{shown_path(first[0])} ({', '.join(first[1])}); pass --keep to choose "
                    "columns they share."
                )
            repeated = next((name for name in names if names.count(name) > 1), None)
            if distinct_names and repeated is not None:
                raise InputError(
                    f"{shown_path(path)} has {repeats(repeated, header)}, and a JSON object "
                    "cannot hold one key twice; rename one of them, choose columns with "
                    "--keep, or write CSV or Parquet."
                )
            wanted_set = set(shown) | set(columns.needed)
            needed = [key for key in keys if key in wanted_set]
            float_columns = list(columns.predictions) + ([columns.weight] if columns.weight else [])
            counts.open(opened.ref)
            # Columns only passed through stay the text they were: a CSV's "02139" is
            # not the number 2139, and text is the cheapest thing to parse.
            scored = set(columns.needed)
            text_columns = [c for c in shown if c not in scored] if passthrough_text else []
            chunks = reader.chunks(needed, settings.chunk_size, float_columns, text_columns)
            work = functools.partial(
                _rows_with_losses,
                validator=validator,
                columns=columns,
                settings=settings,
                shown=shown,
                names=names,
                loss_names=loss_names,
            )
            # Chunks are validated and scored on the pool, and come back in order.
            workers = scoring_workers(settings, reader, streaming=True)
            ordered = validator.in_row_order(chunks)
            outcomes = ordered_map(work, ordered, workers=workers, size=chunk_bytes)
            try:
                for outcome in outcomes:
                    if isinstance(outcome, BceError):
                        raise outcome
                    table, skipped = outcome
                    counts.count(opened.ref, table.num_rows, skipped)
                    yield table
                    del outcome, table  # written: not held while the next are scored
            finally:
                # Here, not in the garbage collector (see scoring.passes.score_chunks).
                close_iterator(outcomes)
                close_iterator(ordered)
                close_iterator(chunks)


def _rows_with_losses(
    chunk: Chunk,
    *,
    validator: ChunkValidator,
    columns: Columns,
    settings: Settings,
    shown: list[str],
    names: list[str],
    loss_names: list[str],
) -> tuple[pa.Table, int] | BceError:
    """One chunk's valid rows with their losses appended (safe on any thread)."""
    try:
        valid = validator.validate(chunk)
    except BceError as error:
        return error
    table = chunk.table
    if valid.keep is not None:
        table = table.filter(bool_array(valid.keep))
    losses = losses_of(valid, columns, settings)
    out = _as_numbers(table.select(shown), columns, valid)
    for name, values in zip(loss_names, losses.losses):
        out = out.append_column(name, _float_array(values))
    if names != shown:  # a repeated name's columns, named as in the input again
        out = out.rename_columns([*names, *loss_names])
    return out, valid.skipped


def _as_numbers(table: pa.Table, columns: Columns, valid: ValidRows) -> pa.Table:
    """Prediction and weight columns that a CSV block left as text become the floats scored.

    A block with a value that is not a number is parsed with those columns as text;
    with --on-invalid skip its valid rows would otherwise come out as strings while
    every other chunk has numbers.
    """
    parsed = list(zip(columns.predictions, valid.predictions))
    if columns.weight and valid.weight is not None:
        parsed.append((columns.weight, valid.weight))
    for name, values in parsed:
        if name not in table.column_names:
            continue
        index = table.column_names.index(name)
        kind = table.schema.field(index).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            table = table.set_column(index, name, _float_array(values))
    return table


def _float_array(values: npt.NDArray[np.float64]) -> pa.Array:
    """A float64 numpy array as an Arrow array, built from its buffer (pa.array imports pandas)."""
    data = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(pa.float64(), len(data), [None, pa.py_buffer(data)])
