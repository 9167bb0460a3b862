"""Where a scoring pass runs: in this process (``local``) or on a Dask cluster (``dask``).

Both engines score with the same code (``bcecli.scoring``) into the same mergeable
``ScoreState``; they differ only in where partitions are scored and merged. This
module stays light (the CLI reads ``ENGINES`` at start-up); each engine is imported
when it runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bcecli.errors import UsageError

if TYPE_CHECKING:
    from bcecli.io.readers import Reader
    from bcecli.scoring.inputs import ScoreResult
    from bcecli.scoring.settings import Settings

ENGINES = ("local", "dask")
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"


@dataclass(frozen=True)
class Engine:
    """A checked engine choice: ``local``, or ``dask`` with its scheduler's address."""

    name: str = "local"
    scheduler: str | None = None

    @classmethod
    def choose(cls, name: str = "local", scheduler: str | None = None) -> Engine:
        """Check the choice before any input is read (a missing extra costs no scoring time).

        The Dask scheduler defaults to ``$DASK_SCHEDULER_ADDRESS``.
        """
        if name not in ENGINES:
            raise UsageError(f"The engine must be one of {', '.join(ENGINES)}, not {name!r}.")
        if name != "dask":
            if scheduler:
                raise UsageError("--scheduler is for --engine dask; pass both, or neither.")
            return cls()
        from bcecli.engines.dask import INSTALL_HINT, dask_available

        if not dask_available():
            raise UsageError(
                f"--engine dask needs Dask, which is not installed; install it with {INSTALL_HINT}."
            )
        scheduler = scheduler or os.environ.get(SCHEDULER_VARIABLE)
        if not scheduler:
            raise UsageError(
                f"--engine dask needs a scheduler: pass --scheduler ADDRESS or set "
                f"{SCHEDULER_VARIABLE}."
            )
        return cls("dask", scheduler)

    def score(
        self,
        readers: Sequence[Reader],
        settings: Settings,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> ScoreResult:
        """Score the readers' rows as one population, here or on the cluster."""
        if self.name == "dask":
            from bcecli.engines.dask import score_on_dask

            assert self.scheduler is not None
            try:
                return score_on_dask(
                    [reader.source for reader in readers],
                    settings,
                    scheduler=self.scheduler,
                    on_progress=on_progress,
                )
            finally:
                for reader in readers:
                    reader.close()
        from bcecli.engines.local import score_readers

        return score_readers(readers, settings, on_progress=on_progress)
