"""``pc``: pyarrow.compute, imported on first use.

Its import generates the docstrings of every kernel (55 ms measured), and a plain
numeric run never calls one. Type checkers see the real module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow.compute as pc
else:

    class _LazyCompute:
        def __getattr__(self, name: str) -> Any:
            import pyarrow.compute

            return getattr(pyarrow.compute, name)

    pc = _LazyCompute()

__all__ = ["pc"]
