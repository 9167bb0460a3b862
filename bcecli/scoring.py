"""The scoring pass: chunks in, exact state out, and the report built from that state.

One pass over every input: each chunk is validated, its losses computed once, and
its exact sums merged into a ``ScoreState`` (whole population, groups, calibration
bins, worst rows). ``ScoreState`` merges with another, so a pass can be split.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bcecli.core.accumulate import ChunkLosses, GroupSums, chunk_sums, compute_losses
from bcecli.core.calibration import CalibrationSums
from bcecli.core.loss import DEFAULT_EPS
from bcecli.core.validate import Codes, Problem, check_logit, check_prob, check_weight, describe
from bcecli.core.worst import WorstRow, WorstRows, top_candidates
from bcecli.errors import BceError, InputError, InvalidRowError, UsageError, shown_path
from bcecli.io.arrays import numeric_values
from bcecli.io.columns import Columns, ColumnSpec, resolve_columns
from bcecli.io.compute import pc
from bcecli.io.convert import LabelMapper, as_array, bool_array, to_float
from bcecli.io.parallel import default_workers, ordered_map
from bcecli.io.readers import Chunk, Reader

DEFAULT_CHUNK_SIZE = 100_000
ON_INVALID = ("error", "skip")
GroupKey = tuple[Any, ...]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Settings:
    """How to score: everything but the inputs."""

    columns: ColumnSpec = field(default_factory=ColumnSpec)
    eps: float = DEFAULT_EPS
    on_invalid: str = "error"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    pos_label: str | None = None
    no_header: bool = False
    calibration: int | None = None
    worst: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.eps < 0.5:
            raise UsageError(f"--eps must be greater than 0 and less than 0.5, not {self.eps!r}.")
        if self.on_invalid not in ON_INVALID:
            raise UsageError("--on-invalid must be 'error' or 'skip'.")
        if self.chunk_size < 1:
            raise UsageError("--chunk-size must be a positive number of rows.")
        if self.calibration is not None and self.calibration < 1:
            raise UsageError("--calibration needs at least 1 bin.")
        if self.worst < 0:
            raise UsageError("--worst must be 0 or more.")


@dataclass
class InputStats:
    path: str
    format: str
    rows: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "skipped": self.skipped,
        }


@dataclass
class ValidRows:
    """One chunk after validation: the valid rows' arrays and what was left out."""

    y: BoolArray
    predictions: list[npt.NDArray[np.float64]]
    weight: npt.NDArray[np.float64] | None
    keep: BoolArray | None  # None: every row is valid
    skipped: int


class ChunkValidator:
    """Turns a chunk's columns into arrays and enforces ``--on-invalid``."""

    def __init__(self, columns: Columns, settings: Settings) -> None:
        self.columns = columns
        self.settings = settings
        self.labels = LabelMapper(settings.pos_label)

    def validate(self, chunk: Chunk) -> ValidRows:
        table = chunk.table
        cols = self.columns
        y, label_codes = self.labels.convert(table.column(cols.label))
        checks: list[tuple[str, Codes | None]] = [(cols.label, label_codes)]
        predictions = []
        check = check_logit if cols.logit else check_prob
        for name in cols.predictions:
            values, missing, unparsed = to_float(table.column(name))
            predictions.append(values)
            checks.append((name, check(values, missing, unparsed)))
        weight = None
        if cols.weight:
            weight, missing, unparsed = to_float(table.column(cols.weight))
            checks.append((cols.weight, check_weight(weight, missing, unparsed)))
        bad = [(name, codes) for name, codes in checks if codes is not None]
        if not bad:
            return ValidRows(y, predictions, weight, None, 0)
        invalid = np.zeros(len(y), dtype=bool)
        for _, codes in bad:
            invalid |= codes != 0
        if self.settings.on_invalid == "error":
            raise self._error(chunk, bad, int(np.argmax(invalid)))
        keep = ~invalid
        return ValidRows(
            y[keep],
            [values[keep] for values in predictions],
            None if weight is None else weight[keep],
            keep,
            int(np.count_nonzero(invalid)),
        )

    def _error(self, chunk: Chunk, bad: list[tuple[str, Codes]], index: int) -> InvalidRowError:
        for name, codes in bad:
            if codes[index]:
                problem = Problem(int(codes[index]))
                value = _shorten(chunk.table.column(name)[index].as_py())
                what = self.labels.expected if name == self.columns.label else ""
                return InvalidRowError(
                    chunk.path,
                    chunk.first_row + index,
                    name,
                    describe(name, problem, value, what=what),
                )
        raise AssertionError("no invalid value at the flagged row")  # pragma: no cover


def _shorten(value: Any, limit: int = 60) -> Any:
    """A long text value cut for a one-line message."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    if isinstance(value, bytes) and len(value) > limit:
        return value[:limit] + b"..."
    return value


def group_ids(table: pa.Table, by: tuple[str, ...]) -> tuple[npt.NDArray[np.intp], list[GroupKey]]:
    """Per-row ids into a list of distinct group keys (tuples of Python values)."""
    dictionaries = []
    codes: npt.NDArray[np.int64] | None = None
    for name in by:
        encoded = pc.dictionary_encode(as_array(table.column(name)), null_encoding="encode")
        dictionaries.append(encoded.dictionary.to_pylist())
        # null_encoding="encode" leaves no null index: the buffer is every row's code.
        indices = numeric_values(encoded.indices).astype(np.int64)
        codes = indices if codes is None else codes * len(dictionaries[-1]) + indices
    assert codes is not None
    if len(by) == 1:
        # The dictionary is already the distinct keys: no sort needed.
        return codes.astype(np.intp), [(value,) for value in dictionaries[0]]
    unique, inverse = np.unique(codes, return_inverse=True)
    keys = []
    for code in unique.tolist():
        parts = []
        for dictionary in reversed(dictionaries):
            code, index = divmod(code, len(dictionary))
            parts.append(dictionary[index])
        keys.append(tuple(reversed(parts)))
    return np.asarray(inverse, dtype=np.intp).reshape(-1), keys


class ScoreState:
    """Everything a report needs, mergeable: exact sums, groups, bins, worst rows,
    and the rows read from each input (by input index).

    ``to_state()`` is a plain dict (ints, floats, strings, lists, None) that survives
    JSON, so a partial state can be scored on one machine and merged on another.
    """

    STATE_VERSION = 1

    def __init__(self, n_models: int, settings: Settings, by: tuple[str, ...] = ()) -> None:
        self.n_models = n_models
        self.by = by
        self.total = GroupSums(n_models=n_models)
        self.groups: dict[GroupKey, GroupSums] = {}
        self.calibration = CalibrationSums(settings.calibration) if settings.calibration else None
        self.worst = WorstRows(settings.worst) if settings.worst else None
        self.skipped = 0
        self.inputs: dict[int, InputStats] = {}

    def merge(self, other: ScoreState) -> None:
        """Add another pass's state: exact sums add exactly, so order never shows."""
        self.total.merge(other.total)
        for key, group in other.groups.items():
            self.groups.setdefault(key, GroupSums(n_models=self.n_models)).merge(group)
        if self.calibration is not None and other.calibration is not None:
            self.calibration.merge(other.calibration)
        if self.worst is not None and other.worst is not None:
            self.worst.merge(other.worst)
        self.skipped += other.skipped
        for index, stats in other.inputs.items():
            mine = self.inputs.setdefault(index, InputStats(stats.path, stats.format))
            mine.rows += stats.rows
            mine.skipped += stats.skipped

    def input_stats(self) -> list[InputStats]:
        """Per-input counts in input order."""
        return [self.inputs[index] for index in sorted(self.inputs)]

    def to_state(self) -> dict[str, Any]:
        """A plain, JSON-able dict; group keys must hold JSON-able values to survive JSON."""
        return {
            "version": self.STATE_VERSION,
            "n_models": self.n_models,
            "by": list(self.by),
            "total": self.total.to_state(),
            "groups": [[list(key), group.to_state()] for key, group in self.groups.items()],
            "calibration": None if self.calibration is None else self.calibration.to_state(),
            "worst": None if self.worst is None else self.worst.to_state(),
            "skipped": self.skipped,
            "inputs": [[index, stats.to_dict()] for index, stats in self.inputs.items()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScoreState:
        if state.get("version") != cls.STATE_VERSION:
            raise UsageError(
                f"A partial score state of version {state.get('version')!r} cannot be read "
                f"by this bce (version {cls.STATE_VERSION}); use the same bce everywhere."
            )
        result = cls(int(state["n_models"]), Settings(), tuple(state["by"]))
        result.total = GroupSums.from_state(state["total"])
        result.groups = {tuple(key): GroupSums.from_state(group) for key, group in state["groups"]}
        if state["calibration"] is not None:
            result.calibration = CalibrationSums.from_state(state["calibration"])
        if state["worst"] is not None:
            result.worst = WorstRows.from_state(state["worst"])
        result.skipped = int(state["skipped"])
        result.inputs = {
            int(index): InputStats(
                str(stats["path"]), str(stats["format"]), int(stats["rows"]), int(stats["skipped"])
            )
            for index, stats in state["inputs"]
        }
        return result

    def update(
        self,
        losses: ChunkLosses,
        table: pa.Table,
        *,
        path: str,
        input_index: int,
        row_numbers: Callable[[npt.NDArray[np.intp]], list[int]],
        columns: Columns,
    ) -> None:
        if self.by:
            ids, keys = group_ids(table, self.by)
            parts = chunk_sums(losses, ids, len(keys))
            for key, part in zip(keys, parts):
                self.groups.setdefault(key, GroupSums(n_models=self.n_models)).merge(part)
                self.total.merge(part)
        else:
            self.total.merge(chunk_sums(losses)[0])
        if self.calibration is not None:
            self.calibration.update(losses.probs[0], losses.y, losses.weight)
        if self.worst is not None:
            self._update_worst(losses, table, path, input_index, row_numbers, columns)

    def _update_worst(
        self,
        losses: ChunkLosses,
        table: pa.Table,
        path: str,
        input_index: int,
        row_numbers: Callable[[npt.NDArray[np.intp]], list[int]],
        columns: Columns,
    ) -> None:
        assert self.worst is not None
        loss = losses.losses[0]
        picked = top_candidates(loss, self.worst.k)
        picked = picked[loss[picked] >= self.worst.floor()]
        if not len(picked):
            return
        rows = row_numbers(picked)
        kept = {
            name: table.column(name).take(pa.array(picked)).to_pylist() for name in columns.keep
        }
        candidates = []
        for position, (index, row) in enumerate(zip(picked.tolist(), rows)):
            value = float(loss[index])
            candidates.append(
                WorstRow(
                    sort_key=(-value, input_index, path, row),
                    path=path,
                    row=row,
                    label=int(losses.y[index]),
                    prob=float(losses.probs[0][index]),
                    log_loss=value,
                    keep={name: kept[name][position] for name in columns.keep},
                )
            )
        self.worst.add(candidates)


@dataclass
class ScoreResult:
    """The finished pass: what the report is made of."""

    settings: Settings
    columns: Columns
    inputs: list[InputStats]
    state: ScoreState


@dataclass
class ChunkOutcome:
    """One chunk scored on its own: its partial state, or the error to raise in order."""

    read: int
    valid: int = 0
    skipped: int = 0
    state: ScoreState | None = None
    error: BceError | None = None


def score_chunk(
    chunk: Chunk,
    *,
    validator: ChunkValidator,
    columns: Columns,
    settings: Settings,
    input_index: int,
) -> ChunkOutcome:
    """Validate and score one chunk into a fresh partial state (safe on any thread)."""
    try:
        valid = validator.validate(chunk)
    except BceError as error:
        return ChunkOutcome(chunk.table.num_rows, error=error)
    state = ScoreState(len(columns.predictions), settings, columns.by)
    if len(valid.y):
        table = chunk.table if valid.keep is None else chunk.table.filter(bool_array(valid.keep))
        losses = compute_losses(
            valid.y, valid.predictions, valid.weight, logit=columns.logit, eps=settings.eps
        )
        state.update(
            losses,
            table,
            path=chunk.path,
            input_index=input_index,
            row_numbers=_row_numbers(chunk, valid.keep),
            columns=columns,
        )
    return ChunkOutcome(chunk.table.num_rows, len(valid.y), valid.skipped, state)


def column_types(columns: Columns) -> tuple[list[str], tuple[str, ...]]:
    """(float columns, text columns) to ask a reader for: predictions and weight are
    numbers, and --by columns text, so a group never splits by per-block type guessing."""
    float_columns = list(columns.predictions)
    if columns.weight:
        float_columns.append(columns.weight)
    return float_columns, columns.by


def score_chunks(
    chunks: Iterable[Chunk],
    state: ScoreState,
    stats: InputStats,
    *,
    validator: ChunkValidator,
    settings: Settings,
    input_index: int,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score one input's chunks (or a partition of them) into ``state`` and ``stats``.

    Chunks are scored on ``workers`` threads into partial states merged in order;
    the first invalid row in order raises, as a serial pass would.
    """
    columns = validator.columns
    work = functools.partial(
        score_chunk,
        validator=validator,
        columns=columns,
        settings=settings,
        input_index=input_index,
    )
    outcomes = ordered_map(work, chunks, workers=workers)
    try:
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
            if on_progress is not None:
                on_progress(outcome.read)
            stats.rows += outcome.valid
            stats.skipped += outcome.skipped
            assert outcome.state is not None
            state.merge(outcome.state)
            state.skipped += outcome.skipped
    finally:
        # The raised error's traceback holds this frame in a cycle: left to the garbage
        # collector, the generators' thread pools would be shut down (and joined) on
        # whatever thread collects them, which can deadlock inside Thread.start.
        close_iterator(outcomes)
        close_iterator(chunks)


def close_iterator(iterator: object) -> None:
    """Close a generator now (running its cleanup here), if it is one."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def score_readers(
    readers: Iterable[Reader],
    settings: Settings,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score every reader's rows as one population.

    Chunks are scored on a thread pool into partial states merged in input order;
    the exact sums make the result independent of that split. With --pos-label the
    negative class is the first other value in row order, so that pass stays serial.
    """
    columns: Columns | None = None
    state: ScoreState | None = None
    validator: ChunkValidator | None = None
    inputs: list[InputStats] = []
    workers = 1 if settings.pos_label is not None else default_workers()
    for input_index, reader in enumerate(readers):
        try:
            if columns is None:
                columns = resolve_columns(settings.columns, reader.column_names, reader.source.path)
                validator = ChunkValidator(columns, settings)
                state = ScoreState(len(columns.predictions), settings, columns.by)
            else:
                resolved = resolve_columns(
                    settings.columns, reader.column_names, reader.source.path
                )
                if resolved != columns:
                    raise _columns_differ(reader.source.path, resolved, inputs[0].path, columns)
            assert validator is not None and state is not None
            stats = InputStats(reader.source.path, reader.source.format)
            inputs.append(stats)
            state.inputs[input_index] = stats
            float_columns, text_columns = column_types(columns)
            chunks = reader.chunks(columns.needed, settings.chunk_size, float_columns, text_columns)
            score_chunks(
                chunks,
                state,
                stats,
                validator=validator,
                settings=settings,
                input_index=input_index,
                workers=workers,
                on_progress=on_progress,
            )
        finally:
            reader.close()
    if columns is None or state is None:
        raise UsageError("No input to score.")
    _check_population(state, inputs)
    return ScoreResult(settings, columns, inputs, state)


def _row_numbers(
    chunk: Chunk, keep: BoolArray | None
) -> Callable[[npt.NDArray[np.intp]], list[int]]:
    def numbers(indices: npt.NDArray[np.intp]) -> list[int]:
        if keep is None:
            return [chunk.first_row + int(i) for i in indices]
        original = np.flatnonzero(keep)[indices]
        return [chunk.first_row + int(i) for i in original]

    return numbers


def _columns_differ(path: str, resolved: Columns, first_path: str, first: Columns) -> InputError:
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


def _check_population(state: ScoreState, inputs: list[InputStats]) -> None:
    if len(inputs) <= 3:
        names = ", ".join(shown_path(stats.path) for stats in inputs)
    else:
        names = f"{shown_path(inputs[0].path)} and {len(inputs) - 1} other inputs"
    if state.total.rows == 0:
        if state.skipped:
            raise InputError(
                f"{names}: all {state.skipped} rows are invalid, so there is nothing to score."
            )
        raise InputError(f"{names}: no data rows to score.")
    if state.total.weight.finite and state.total.weight.units == 0:
        raise InputError(f"{names}: every weight is zero, so there is no mean to take.")


def iter_row_losses(
    readers: Iterable[Reader],
    settings: Settings,
    *,
    output_columns: Sequence[str] | None = None,
    stats: list[InputStats] | None = None,
    passthrough_text: bool = False,
) -> Iterator[pa.Table]:
    """Each chunk's valid rows with a ``log_loss`` column appended, in input order.

    ``output_columns`` None keeps every input column, or only the resolved
    ``settings.columns.keep`` when that names some. With several prediction columns
    the losses are named ``log_loss_<column>``. An input column of the same name as
    a loss column is left out rather than written twice. Every input must have the
    same output columns, since they go to one table. ``passthrough_text`` keeps the
    columns that are only passed through as the input's text (for CSV output).
    """
    columns: Columns | None = None
    validator: ChunkValidator | None = None
    first: tuple[str, list[str]] | None = None
    for reader in readers:
        try:
            path = reader.source.path
            resolved = resolve_columns(settings.columns, reader.column_names, path)
            if columns is None:
                columns = resolved
                validator = ChunkValidator(columns, settings)
            elif resolved != columns:
                assert first is not None
                raise _columns_differ(path, resolved, first[0], columns)
            assert validator is not None
            if output_columns is not None:
                wanted = list(output_columns)
            elif resolved.keep:
                wanted = list(resolved.keep)
            else:
                wanted = list(reader.column_names)
            loss_names = (
                ["log_loss"]
                if len(columns.predictions) == 1
                else [f"log_loss_{name}" for name in columns.predictions]
            )
            shown = [name for name in dict.fromkeys(wanted) if name not in loss_names]
            if first is None:
                first = (path, shown)
            elif shown != first[1]:
                raise InputError(
                    f"{shown_path(path)} has the columns {', '.join(shown)}, unlike "
                    f"{shown_path(first[0])} ({', '.join(first[1])}); pass --keep to choose "
                    "columns they share."
                )
            wanted_set = set(shown) | set(columns.needed)
            needed = [c for c in reader.column_names if c in wanted_set]
            float_columns = list(columns.predictions) + ([columns.weight] if columns.weight else [])
            input_stats = InputStats(reader.source.path, reader.source.format)
            if stats is not None:
                stats.append(input_stats)
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
                loss_names=loss_names,
            )
            # Chunks are validated and scored on the pool, and come back in order.
            outcomes = ordered_map(work, chunks, workers=_row_workers(settings, reader))
            try:
                for outcome in outcomes:
                    if isinstance(outcome, BceError):
                        raise outcome
                    table, skipped = outcome
                    input_stats.rows += table.num_rows
                    input_stats.skipped += skipped
                    yield table
            finally:
                # Here, not in the garbage collector (see score_chunks).
                close_iterator(outcomes)
                close_iterator(chunks)
        finally:
            reader.close()


def _row_workers(settings: Settings, reader: Reader) -> int:
    # --pos-label learns the negative class from the first other value in row order,
    # and standard input is written as its lines arrive: a pool would wait for more.
    if settings.pos_label is not None or reader.source.is_stdin:
        return 1
    return default_workers()


def _rows_with_losses(
    chunk: Chunk,
    *,
    validator: ChunkValidator,
    columns: Columns,
    settings: Settings,
    shown: list[str],
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
    losses = compute_losses(
        valid.y, valid.predictions, valid.weight, logit=columns.logit, eps=settings.eps
    )
    out = _as_numbers(table.select(shown), columns, valid)
    for name, values in zip(loss_names, losses.losses):
        out = out.append_column(name, _float_array(values))
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
