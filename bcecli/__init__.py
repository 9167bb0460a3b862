"""bce: the exact, streaming binary cross-entropy (log loss) of binary predictions.

    >>> import bcecli
    >>> report = bcecli.score(y=[0, 1, 1], p=[0.1, 0.8, 0.6])
    >>> round(report.log_loss, 6)
    0.279777

The public API is imported lazily so that ``bce --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bcecli._version import __version__

if TYPE_CHECKING:
    from bcecli.api import row_losses, score
    from bcecli.errors import BceError
    from bcecli.report.model import Report

__all__ = ["BceError", "Report", "__version__", "row_losses", "score"]

_LAZY = {
    "score": "bcecli.api",
    "row_losses": "bcecli.api",
    "Report": "bcecli.report.model",
    "BceError": "bcecli.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bcecli' has no attribute {name!r}")
