"""The Python API: score a file, a DataFrame, an Arrow table or arrays, without the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bcecli.core.loss import DEFAULT_EPS
from bcecli.errors import UsageError
from bcecli.io.columns import ColumnSpec
from bcecli.io.formats import MEMORY_FORMAT
from bcecli.io.readers import Chunk, LazyReader, Reader, slice_rows
from bcecli.io.sources import Source, make_sources
from bcecli.report.model import Report, build_report
from bcecli.scoring import DEFAULT_CHUNK_SIZE, Settings, iter_row_losses, score_readers

MEMORY = "<memory>"


class TableReader:
    """An in-memory Arrow table read chunk by chunk like a file."""

    def __init__(self, table: pa.Table, no_header: bool = False) -> None:
        self.source = Source(MEMORY, MEMORY_FORMAT)
        self.table = table
        self.column_names = [str(name) for name in table.column_names]
        if no_header:
            renamed = [str(i) for i in range(1, len(self.column_names) + 1)]
            self.table = table.rename_columns(renamed)
            self.column_names = renamed

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        projected = self.table.select(list(columns))
        for offset, piece in slice_rows(projected, chunk_size):
            yield Chunk(MEMORY, offset + 1, piece)

    def close(self) -> None:
        pass


def score(
    source: Any = None,
    *,
    label: str | None = None,
    prob: str | Sequence[str] | None = None,
    logit: str | None = None,
    weight: str | None = None,
    eps: float | None = None,
    by: str | Sequence[str] | None = None,
    keep: str | Sequence[str] | None = None,
    on_invalid: str = "error",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    pos_label: str | None = None,
    no_header: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    calibration: int | None = None,
    worst: int = 0,
    y: Any = None,
    p: Any = None,
    z: Any = None,
    w: Any = None,
) -> Report:
    """Score predictions and return the report.

    ``source`` is a path, a list of paths, a pandas DataFrame, a pyarrow Table or
    RecordBatch; or pass arrays ``y=`` with ``p=`` (probabilities) or ``z=`` (logits),
    and optionally ``w=`` (weights). Errors raise ``bcecli.BceError`` subclasses.

        >>> score(y=[1, 0], p=[0.9, 0.2]).metrics["rows"]
        2
    """
    readers, spec = _readers(
        source,
        ColumnSpec(
            label=label,
            prob=_names(prob),
            logit=logit,
            weight=weight,
            by=_names(by),
            keep=_names(keep),
        ),
        y=y,
        p=p,
        z=z,
        w=w,
        no_header=no_header,
        input_format=input_format,
        delimiter=delimiter,
    )
    settings = Settings(
        columns=spec,
        eps=DEFAULT_EPS if eps is None else float(eps),
        on_invalid=on_invalid,
        chunk_size=chunk_size,
        pos_label=pos_label,
        no_header=no_header,
        calibration=calibration,
        worst=worst,
    )
    return build_report(score_readers(readers, settings))


def row_losses(
    source: Any = None,
    *,
    label: str | None = None,
    prob: str | Sequence[str] | None = None,
    logit: str | None = None,
    weight: str | None = None,
    eps: float | None = None,
    on_invalid: str = "error",
    pos_label: str | None = None,
    no_header: bool = False,
    y: Any = None,
    p: Any = None,
    z: Any = None,
) -> Any:
    """Per-row losses: a numpy array for ``y=``/``p=`` arrays, else the table plus ``log_loss``.

    A DataFrame comes back as a DataFrame, anything else as a pyarrow Table. With
    ``on_invalid="skip"`` the invalid rows are left out.
    """
    readers, spec = _readers(
        source,
        ColumnSpec(label=label, prob=_names(prob), logit=logit, weight=weight),
        y=y,
        p=p,
        z=z,
        w=None,
        no_header=no_header,
        input_format=None,
        delimiter=None,
    )
    settings = Settings(
        columns=spec,
        eps=DEFAULT_EPS if eps is None else float(eps),
        on_invalid=on_invalid,
        pos_label=pos_label,
        no_header=no_header,
    )
    pieces = list(iter_row_losses(readers, settings))
    result = pa.concat_tables(pieces) if pieces else pa.table({})
    if source is None:
        values: npt.NDArray[np.float64] = result.column("log_loss").to_numpy()
        return values
    if _is_dataframe(source):
        return result.to_pandas()
    return result


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def _readers(
    source: Any,
    spec: ColumnSpec,
    *,
    y: Any,
    p: Any,
    z: Any,
    w: Any,
    no_header: bool,
    input_format: str | None,
    delimiter: str | None,
) -> tuple[list[Reader], ColumnSpec]:
    if source is None:
        return [_array_reader(y, p, z, w)], ColumnSpec(
            label="label",
            prob=() if p is None else ("prob",),
            logit="logit" if z is not None else None,
            weight=None if w is None else "weight",
        )
    if y is not None or p is not None or z is not None or w is not None:
        raise UsageError("Pass either a source or arrays (y=, p=), not both.")
    if isinstance(source, (str, os.PathLike)):
        paths = [os.fspath(source)]
    elif isinstance(source, (list, tuple)) and all(
        isinstance(s, (str, os.PathLike)) for s in source
    ):
        paths = [os.fspath(s) for s in source]
    else:
        return [TableReader(_to_table(source), no_header)], spec
    sources = make_sources(paths, input_format=input_format, delimiter=delimiter)
    return [LazyReader(s, no_header=no_header) for s in sources], spec


def _to_table(source: Any) -> pa.Table:
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if _is_dataframe(source):
        return pa.Table.from_pandas(source, preserve_index=False)
    raise UsageError(
        f"Cannot score a {type(source).__name__}: pass a path, a DataFrame, a pyarrow Table "
        "or arrays y= and p=."
    )


def _array_reader(y: Any, p: Any, z: Any, w: Any) -> TableReader:
    if y is None or (p is None) == (z is None):
        raise UsageError("Pass y= with either p= (probabilities) or z= (logits).")
    columns = {
        "label": _array(y),
        ("prob" if p is not None else "logit"): _array(p if p is not None else z),
    }
    if w is not None:
        columns["weight"] = _array(w)
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise UsageError(f"The arrays differ in length ({shown}).")
    return TableReader(pa.table(columns))


def _array(values: Any) -> pa.Array:
    array = np.asarray(values)
    if array.ndim != 1:
        raise UsageError(f"Expected one-dimensional arrays, got shape {array.shape}.")
    return pa.array(array)
