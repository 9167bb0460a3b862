"""bce's C kernel, when it was built and is wanted; the pure-Python path otherwise.

``kernel`` is the compiled module or None; ``status()`` says which path runs and why,
for ``bce --version``. ``BCE_NATIVE=0`` in the environment forces the pure-Python path
(tests, comparisons, bug reports): both give the same bits, the kernel faster.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("BCE_NATIVE", "").strip() == "0":
        return None, "BCE_NATIVE=0"
    try:
        return importlib.import_module("bcecli._native._kernel"), ""
    except ImportError as error:
        return None, f"not built: {error}"


kernel, _reason = _load()


def status() -> str:
    """``on``, or ``off (why)``."""
    return "on" if kernel is not None else f"off ({_reason})"
