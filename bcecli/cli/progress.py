"""The progress display of a long run, on stderr, only where a person is watching."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bcecli.io.readers import Reader


class Progress:
    """A Rich progress display on stderr for runs that last more than about a second.

    Only when stderr is an interactive terminal (not TERM=dumb, where Rich would
    print every refresh), never with --quiet, never for standard input (its size is
    unknown and the terminal may be typing it). A timer shows it after DELAY seconds,
    so a short run prints nothing, and a slow first chunk still shows bce is working.
    """

    DELAY = 1.0

    def __init__(self, readers: Sequence[Reader], *, quiet: bool) -> None:
        stdin = any(reader.source.is_stdin for reader in readers)
        self.enabled = not quiet and not stdin and sys.stderr.isatty()
        self.progress: Any = None
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.shown = False
        self.done = False

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=sys.stderr)
        if not console.is_interactive:
            return None
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            # stdout carries the report: Live must not wrap it while it runs.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = self.progress.add_task("scoring", total=None)
        self.timer = threading.Timer(self.DELAY, self._show)
        self.timer.daemon = True
        self.timer.start()

        def advance(rows: int) -> None:
            self.progress.advance(task, rows)

        return advance

    def _show(self) -> None:
        with self.lock:
            if not self.done:
                self.progress.start()
                self.shown = True

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            self.done = True
            if self.shown:
                self.progress.stop()
