"""``pc``: pyarrow.compute, imported on first use.

Its import generates the docstrings of every kernel (55 ms measured), and a plain
numeric run never calls one. Type checkers see the real module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import pyarrow.compute as pc
else:
    pc = lazy("pyarrow.compute")

__all__ = ["pc"]
