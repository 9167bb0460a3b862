"""``--engine`` and ``--scheduler`` for ``bce score``: where the pass runs.

``bce score`` uses ``@engine_options``, then ``plan = engine_plan(options)`` before any
input is read (a missing extra or scheduler costs no scoring time), then
``plan.score(readers, settings, on_progress=...)`` in place of ``score_readers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from bcecli.engines import ENGINES, SCHEDULER_VARIABLE, Engine

F = TypeVar("F", bound=Callable[..., Any])


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


def engine_plan(options: dict[str, Any]) -> Engine:
    """Check the engine options before any input is read."""
    return Engine.choose(options["engine"], options["scheduler"])
