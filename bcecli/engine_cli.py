"""``--engine`` and ``--scheduler`` for ``bce score``: where the pass runs.

``bce score`` uses ``@engine_options``, then ``plan = engine_plan(options)`` before any
input is read (a missing extra or scheduler costs no scoring time), then
``plan.score(readers, settings, on_progress=...)`` in place of ``score_readers``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bcecli.engines import ENGINES
from bcecli.errors import UsageError

if TYPE_CHECKING:
    from bcecli.io.readers import Reader
    from bcecli.scoring import ScoreResult, Settings

F = TypeVar("F", bound=Callable[..., Any])
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"


def engine_options(command: F) -> F:
    """The options that choose where ``bce score`` runs (SPEC section 10)."""
    decorators = [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="local",
            show_default=True,
            help="Score here, or on an existing Dask cluster (needs pip install 'bcecli[dask]'): "
            "each Parquet row group or CSV file is scored on a worker; the report is the same.",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help=f"The Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786 "
            f"(default: ${SCHEDULER_VARIABLE}).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@dataclass(frozen=True)
class EnginePlan:
    engine: str = "local"
    scheduler: str | None = None

    def score(
        self,
        readers: list[Reader],
        settings: Settings,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> ScoreResult:
        if self.engine == "dask":
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
        from bcecli.scoring import score_readers

        return score_readers(readers, settings, on_progress=on_progress)


def engine_plan(options: dict[str, Any]) -> EnginePlan:
    """Check the engine options before any input is read."""
    engine = options["engine"]
    scheduler = options["scheduler"]
    if engine != "dask":
        if scheduler:
            raise UsageError("--scheduler is for --engine dask; pass both, or neither.")
        return EnginePlan()
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
    return EnginePlan("dask", scheduler)
