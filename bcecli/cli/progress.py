"""The progress display of a long run, on stderr, only where a person is watching.

A bar (percentage, amount done of the total, rate, time left) where every input's size
is known: bytes of the files as stored (compressed bytes for .gz, objects' bytes for
URLs), or rows from the Parquet footers, summed over the inputs. A spinner with the
rows counted so far where a size is unknown (standard input, a pipe), where the inputs
measure in different units (CSV beside Parquet), or where chunks are read elsewhere (on
a Dask cluster, whose engine reports rows only).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

# This module is imported only when a command runs, so pyarrow costs --help nothing. Rich
# is imported only where a display is drawn (stderr a terminal): a run whose stderr is a
# file or a pipe, or --quiet, loads none of it.
from bcecli.io.reader_base import BlockParser, DelimitedText, TextBlock, delimited_text
from bcecli.io.readers import Chunk, Extent, Reader, measure
from bcecli.scoring.inputs import close_iterator

if TYPE_CHECKING:
    from rich.progress import Task

    from bcecli.io.sources import Source

_ROW_SUFFIXES = ["", "k", "M", "B"]
_BYTE_SUFFIXES = ["bytes", "kB", "MB", "GB", "TB", "PB"]


class Progress:
    """A Rich progress display on stderr for runs that last more than about a second.

    Only when stderr is an interactive terminal (not TERM=dumb, where Rich would
    print every refresh), never with --quiet, never while standard input is read from
    the terminal (the person may be typing it). A timer shows it after DELAY seconds,
    so a short run prints nothing, and a slow first chunk still shows bce is working;
    the inputs are measured then, on the timer's thread, beside the pass.

    Pass ``readers`` on in place of the readers given: they report each chunk read, its
    rows and how far through its input it is. ``on_rows`` is an engine's
    ``on_progress``, for engines whose chunks are read elsewhere (Dask's workers).
    """

    DELAY = 1.0

    def __init__(self, readers: Sequence[Reader], *, quiet: bool) -> None:
        typed = any(reader.source.is_stdin for reader in readers) and sys.stdin.isatty()
        self.enabled = not quiet and not typed and sys.stderr.isatty()
        self.readers: list[Reader] = list(readers)
        self._sources = [reader.source for reader in readers]
        self.progress: Any = None
        self.task: Any = None
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.shown = False
        self.done = False
        self.rows_read = 0  # rows of the chunks read here
        self.rows_reported = 0  # rows an engine reported read elsewhere
        self.through = [0] * len(readers)  # each input's latest Chunk.through
        self.completed = 0  # their sum
        self.read_here = False  # a chunk was read through ``readers``
        self.unmeasured = False  # a chunk could not say how far through its input it is
        self.extents: list[Extent | None] | None = None  # measured once shown

    @property
    def on_rows(self) -> Callable[[int], None] | None:
        """An engine's ``on_progress``, or None when nothing is shown."""
        return self._rows_reported if self.progress is not None else None

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        self.progress = _display()
        if self.progress is None:
            return self
        self.task = self.progress.add_task("scoring", total=None, rows=0, unit=None)
        self.readers = [_Watched(reader, index, self) for index, reader in enumerate(self.readers)]
        self.timer = threading.Timer(self.DELAY, self._show)
        self.timer.daemon = True
        self.timer.start()
        return self

    def _show(self) -> None:
        with self.lock:
            if self.done:
                return
            self.progress.start()
            self.shown = True
        extents = [measure(source) for source in self._sources]
        with self.lock:
            self.extents = extents
            self._update()

    def _rows_reported(self, rows: int) -> None:
        with self.lock:
            self.rows_reported += rows
            self._update()

    def chunk_read(self, index: int, rows: int, through: int | None) -> None:
        """A chunk of input ``index`` was read: its rows, and its ``Chunk.through``."""
        with self.lock:
            self.read_here = True
            self.rows_read += rows
            if through is None:
                self.unmeasured = True
            else:
                self.completed += through - self.through[index]
                self.through[index] = through
            self._update()

    def _update(self) -> None:
        """Show the rows and the amount read, and the total once every input is measured
        in one unit and their chunks say how far through they are (under the lock)."""
        if self.progress is None:  # nothing drawn
            return
        total: int | None = None
        unit: str | None = None
        extents = self.extents
        if extents is not None and self.read_here and not self.unmeasured:
            units = {extent.unit for extent in extents if extent is not None}
            if None not in extents and len(units) == 1:
                total = sum(extent.size for extent in extents if extent is not None)
                unit = units.pop()
        # Rows read here and rows scored (reported by the engine) count the same rows; the
        # CSV fast path's blocks are read here but only counted once scored.
        rows = max(self.rows_read, self.rows_reported)
        self.progress.update(self.task, completed=self.completed, total=total, unit=unit, rows=rows)

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            self.done = True
            if self.shown:
                self.progress.stop()


class _Watched:
    """A reader whose chunks tell the display how far through their input they are."""

    def __init__(self, reader: Reader, index: int, progress: Progress) -> None:
        self._reader = reader
        self._index = index
        self._progress = progress

    @property
    def source(self) -> Source:
        return self._reader.source

    @property
    def column_names(self) -> list[str]:
        return self._reader.column_names

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        return self._watch(self._reader.chunks(columns, chunk_size, float_columns, text_columns))

    def _watch(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        try:
            for chunk in chunks:
                self._progress.chunk_read(self._index, chunk.table.num_rows, chunk.through)
                yield chunk
        finally:
            # Closed here, with this generator, not by the garbage collector (see
            # bcecli.scoring.passes.score_chunks).
            close_iterator(chunks)

    def delimited_text(self) -> DelimitedText | None:
        text = delimited_text(self._reader)
        return None if text is None else _WatchedText(text, self._index, self._progress)

    def close(self) -> None:
        self._reader.close()


class _WatchedText:
    """Delimited text whose raw blocks (the CSV fast path's) tell the display how far
    through their input they are; their rows are reported once scored."""

    def __init__(self, text: DelimitedText, index: int, progress: Progress) -> None:
        self._text = text
        self._index = index
        self._progress = progress

    @property
    def source(self) -> Source:
        return self._text.source

    @property
    def column_names(self) -> list[str]:
        return self._text.column_names

    def block_parser(
        self, columns: Sequence[str], float_columns: Sequence[str], text_columns: Sequence[str]
    ) -> BlockParser:
        return self._text.block_parser(columns, float_columns, text_columns)

    def text_blocks(self, chunk_size: int) -> Iterator[TextBlock]:
        blocks = self._text.text_blocks(chunk_size)
        try:
            for block in blocks:
                self._progress.chunk_read(self._index, 0, block[1])
                yield block
        finally:
            close_iterator(blocks)


def _display() -> Any:
    """Rich's progress display on stderr, or None where its console is not interactive."""
    from rich.console import Console
    from rich.progress import BarColumn, ProgressColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as RichProgress
    from rich.progress_bar import ProgressBar
    from rich.table import Column
    from rich.text import Text

    console = Console(file=sys.stderr)
    if not console.is_interactive:
        return None

    class Bar(ProgressColumn):
        """Rich's bar, left out while the total is unknown (the spinner shows work instead)."""

        def __init__(self, bar_width: int) -> None:
            super().__init__()
            self._bar = BarColumn(bar_width=bar_width)

        def render(self, task: Task) -> ProgressBar | Text:
            if task.total is None:
                return Text("")
            return self._bar.render(task)

    class Figures(ProgressColumn):
        """The figures after the bar (see ``figures``)."""

        def render(self, task: Task) -> Text:
            return Text(figures(task))

    return RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        Bar(bar_width=16),
        Figures(table_column=Column(no_wrap=True, overflow="ellipsis")),
        console=console,
        transient=True,
        # stdout carries the report or the rows: Live must not wrap it while it runs.
        redirect_stdout=False,
        redirect_stderr=False,
    )


def figures(task: Task) -> str:
    """After the bar: percentage, done/total, rate and time left; or, while the total is
    unknown, the rows so far and the time elapsed."""
    from rich.filesize import decimal, pick_unit_and_suffix

    if task.total is None:
        return f"{int(task.fields.get('rows', 0)):,} rows {_clock(task.elapsed or 0.0)}"
    speed = task.speed
    remaining = task.time_remaining
    if task.fields["unit"] == "bytes":
        unit, suffix = pick_unit_and_suffix(int(task.total), _BYTE_SUFFIXES, 1000)
        amount = f"{_scaled(task.completed, unit)}/{_scaled(task.total, unit)} {suffix}"
        rate = None if speed is None else f"{decimal(int(speed))}/s"
    else:
        unit, suffix = pick_unit_and_suffix(int(task.total), _ROW_SUFFIXES, 1000)
        amount = f"{_scaled(task.completed, unit)}/{_scaled(task.total, unit)}{suffix} rows"
        rate = None if speed is None else f"{_rows(speed)} rows/s"
    return " ".join(
        part
        for part in (
            f"{task.percentage:3.0f}%",
            amount,
            rate,
            "eta " + (_clock(remaining) if remaining is not None else "-:--:--"),
        )
        if part is not None
    )


def _scaled(value: float, unit: int) -> str:
    return f"{value:,.0f}" if unit == 1 else f"{value / unit:,.1f}"


def _rows(count: float) -> str:
    """A row count in three or four figures: 950, 12.3k, 2.1M."""
    from rich.filesize import pick_unit_and_suffix

    unit, suffix = pick_unit_and_suffix(int(count), _ROW_SUFFIXES, 1000)
    return f"{_scaled(count, unit)}{suffix}"


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))
