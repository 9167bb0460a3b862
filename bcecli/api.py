"""The Python API: score a file, a DataFrame, an Arrow table or arrays, without the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bcecli.core.loss import DEFAULT_EPS
from bcecli.engines import Engine
from bcecli.errors import UsageError
from bcecli.gate import Gates, Increase, parse_max_increase
from bcecli.io.columns import ColumnSpec
from bcecli.io.formats import MEMORY_FORMAT
from bcecli.io.readers import Chunk, LazyReader, Reader, column_keys, slice_rows
from bcecli.io.sources import Source, make_sources
from bcecli.report.baseline import load_baseline
from bcecli.report.model import Report, build_report
from bcecli.scoring.rows import iter_row_losses
from bcecli.scoring.settings import DEFAULT_CHUNK_SIZE, Settings

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
        # Columns by position: a repeated name is ambiguous to select().
        self._index = {key: i for i, key in enumerate(column_keys(self.column_names))}

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        projected = self.table.select([self._index[key] for key in columns])
        projected = projected.rename_columns(list(columns))
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
    max_loss: float | None = None,
    max_ne: float | None = None,
    limits: Mapping[str, float] | None = None,
    baseline: str | os.PathLike[str] | Report | Mapping[str, Any] | None = None,
    max_increase: str | Increase | None = None,
    gate_groups: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
    y: Any = None,
    p: Any = None,
    z: Any = None,
    w: Any = None,
) -> Report:
    """Score predictions and return the report.

    ``source`` is a path, a list of paths, a pandas DataFrame, a pyarrow Table or
    RecordBatch; or pass arrays ``y=`` with ``p=`` (probabilities) or ``z=`` (logits),
    and optionally ``w=`` (weights). Errors raise ``bcecli.BceError`` subclasses.

    Gates, as ``bce score`` has them: ``max_loss=``, ``max_ne=`` (or any limit gate of
    ``bcecli.gate.LIMITS`` by name in ``limits=``), and ``baseline=`` (a report, its
    JSON document, or the path of one) with ``max_increase=`` ("0.002", "1%", "2se");
    ``gate_groups=True`` gates every ``by`` group too. The report's ``gate`` holds
    every check and ``report.passed`` the verdict.

    ``engine="dask"`` scores files on the Dask cluster at ``scheduler`` (default:
    ``$DASK_SCHEDULER_ADDRESS``), with the very same report.

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
    asked = {"max_loss": max_loss, "max_ne": max_ne, **(limits or {})}
    gates = Gates(
        limits={check: value for check, value in asked.items() if value is not None},
        baseline=_baseline(baseline),
        max_increase=(
            parse_max_increase(max_increase) if isinstance(max_increase, str) else max_increase
        ),
        gate_groups=gate_groups,
        by=spec.by,
    )
    chosen = Engine.choose(engine, scheduler)
    if chosen.name != "local" and any(reader.source.path == MEMORY for reader in readers):
        raise UsageError(
            f"engine={chosen.name!r} scores files and object-store URLs; pass paths, "
            "or score in-memory data with the local engine."
        )
    report = build_report(chosen.score(readers, settings))
    report.apply_gates(gates)
    return report


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


def _baseline(
    baseline: str | os.PathLike[str] | Report | Mapping[str, Any] | None,
) -> Mapping[str, Any] | None:
    """A baseline report document from a report, a document or the path of its JSON."""
    if baseline is None or isinstance(baseline, Mapping):
        return baseline
    if isinstance(baseline, Report):
        return baseline.to_dict()
    return load_baseline(os.fspath(baseline))


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
        names = [str(name) for name in source.columns]
        keys = column_keys(names)
        if keys != names:
            # pyarrow refuses repeated names: convert under distinct ones, then name the
            # columns back, so scoring can say which name repeats.
            table = pa.Table.from_pandas(source.set_axis(keys, axis=1), preserve_index=False)
            return table.rename_columns(names)
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
