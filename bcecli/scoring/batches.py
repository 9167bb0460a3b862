"""The Arrow-to-numpy boundary: a chunk of Arrow columns becomes a core ``Batch``.

Everything that looks at Arrow values on the scoring path is here: label and
number conversion with validation (``--on-invalid``), group encoding for ``--by``,
and the kept columns ``--worst --keep`` reads. The core past this point sees numpy
arrays only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcecli.core.accumulate import ChunkLosses, compute_losses
from bcecli.core.batch import Batch, GroupKey, InputRef
from bcecli.core.lazy import lazy
from bcecli.core.validate import Problem, check_logit, check_prob, check_weight, describe
from bcecli.errors import InvalidRowError
from bcecli.io.arrays import null_mask, numeric_values
from bcecli.io.columns import Columns
from bcecli.io.compute import pc
from bcecli.io.convert import LabelMapper, LabelRule, as_array, bool_array, to_float
from bcecli.io.readers import Chunk
from bcecli.scoring.settings import Settings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from bcecli.core.validate import Codes

    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.intp]
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")


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

    def in_row_order(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        """The chunks, the label rule learnt from each in turn until it settles.

        Wrap the chunks where they are still in row order, before a thread pool
        validates them: the rule then never depends on which thread runs first.
        """
        for chunk in chunks:
            if not self.labels.settled:
                self.labels.learn(chunk.table.column(self.columns.label))
            yield chunk

    def validate(self, chunk: Chunk) -> ValidRows:
        table = chunk.table
        cols = self.columns
        if not self.labels.settled:
            # For callers that validate chunks one by one, in order. Behind
            # in_row_order this finds nothing new: a chunk that settles the rule was
            # learnt from before it was handed on.
            self.labels.learn(table.column(cols.label))
        y, label_codes, rule = self.labels.convert(table.column(cols.label))
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
            raise self._error(chunk, bad, int(np.argmax(invalid)), rule)
        keep = ~invalid
        return ValidRows(
            y[keep],
            [values[keep] for values in predictions],
            None if weight is None else weight[keep],
            keep,
            int(np.count_nonzero(invalid)),
        )

    def _error(
        self, chunk: Chunk, bad: list[tuple[str, Codes]], index: int, rule: LabelRule
    ) -> InvalidRowError:
        for name, codes in bad:
            if codes[index]:
                problem = Problem(int(codes[index]))
                value = _shorten(chunk.table.column(name)[index].as_py())
                what = self.labels.expected(rule) if name == self.columns.label else ""
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


def losses_of(valid: ValidRows, columns: Columns, settings: Settings) -> ChunkLosses:
    """The per-row losses (and what they are made of) of a chunk's valid rows."""
    return compute_losses(
        valid.y, valid.predictions, valid.weight, logit=columns.logit, eps=settings.eps
    )


def make_batch(
    chunk: Chunk, valid: ValidRows, ref: InputRef, columns: Columns, settings: Settings
) -> Batch:
    """The core's view of a validated chunk: numpy arrays, group ids, kept columns."""
    batch = Batch(
        values=losses_of(valid, columns, settings),
        input=ref,
        path=chunk.path,
        first_row=chunk.first_row,
        read=chunk.table.num_rows,
        valid=valid.keep,
    )
    uses_table = bool(columns.by) or (settings.worst > 0 and bool(columns.keep))
    if not len(valid.y) or not uses_table:
        return batch
    table = chunk.table if valid.keep is None else chunk.table.filter(bool_array(valid.keep))
    if columns.by:
        batch.group_ids, batch.group_keys = group_ids(table, columns.by)
    if settings.worst:
        batch.keep = {name: ArrowKept(table.column(name)) for name in columns.keep}
    return batch


class ArrowKept:
    """A ``--keep`` column of a batch's valid rows, as the core's ``KeptColumn``."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        self.column = column

    def take(self, indices: IntArray) -> list[Any]:
        # From the buffer, not pa.array(indices), which imports pandas (0.3 s).
        positions = np.ascontiguousarray(indices, dtype=np.int64)
        index = pa.Array.from_buffers(pa.int64(), len(positions), [None, pa.py_buffer(positions)])
        values: list[Any] = self.column.take(index).to_pylist()
        return values


def group_ids(table: pa.Table, by: tuple[str, ...]) -> tuple[IntArray, list[GroupKey]]:
    """Per-row ids into a list of distinct group keys (tuples of Python values).

    Only keys some row holds are listed, and a missing value is the key ``None``,
    whatever the column's Arrow encoding.
    """
    codes, keys = _column_codes(table.column(by[0]))
    combined = codes
    group_keys: list[GroupKey] = [(value,) for value in keys]
    for name in by[1:]:
        codes, keys = _column_codes(table.column(name))
        combined = combined * len(keys) + codes
        # Renumbered after each column, the codes stay below rows * distinct values:
        # a product over all columns could overflow int64.
        unique, inverse = np.unique(combined, return_inverse=True)
        group_keys = [
            group_keys[code // len(keys)] + (keys[code % len(keys)],) for code in unique.tolist()
        ]
        combined = np.asarray(inverse, dtype=np.int64).reshape(-1)
    return combined.astype(np.intp, copy=False), group_keys


def _column_codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """Each row's index into the column's distinct values, which are plain Python
    values, ``None`` for missing."""
    array = as_array(column)
    if pa.types.is_dictionary(array.type):
        return _dictionary_codes(array)
    encoded = pc.dictionary_encode(array, null_encoding="encode")
    # null_encoding="encode" leaves no null index: the buffer is every row's code.
    return numeric_values(encoded.indices).astype(np.int64), encoded.dictionary.to_pylist()


def _dictionary_codes(array: pa.DictionaryArray) -> tuple[npt.NDArray[np.int64], list[Any]]:
    # dictionary_encode returns a dictionary array as it is: a missing value may then be
    # a null index (over any buffer value), a null entry, or both, and entries may repeat
    # or be unused (a category no row holds). Encode the entries, then map the indices.
    entries = pc.dictionary_encode(array.dictionary, null_encoding="encode")
    values: list[Any] = entries.dictionary.to_pylist()
    if None not in values:
        values.append(None)
    lookup = np.append(
        numeric_values(entries.indices).astype(np.int64), np.int64(values.index(None))
    )
    indices = numeric_values(array.indices).astype(np.int64)
    missing = null_mask(array.indices)
    if missing is not None:
        indices = np.where(missing, len(lookup) - 1, indices)
    codes = lookup[indices]
    used = np.bincount(codes, minlength=len(values)) > 0
    if used.all():
        return codes, values
    renumbered = np.cumsum(used) - 1
    return renumbered[codes], [value for value, held in zip(values, used) if held]
