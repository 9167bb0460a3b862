"""Modules imported on first use, so a run that never needs numpy or pyarrow (a plain CSV
scored by the C kernel) does not pay for loading them: together about 0.1 s, most of a
small file's run.

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = lazy("numpy")

Type checkers see the real module; at run time ``np.anything`` imports numpy the first
time it is read. Module-level code must not read it (aliases of numpy types go under
TYPE_CHECKING), or the import happens at once.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Lazy:
    """Stands for a module until an attribute is read, then forwards to it."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self) -> ModuleType:
        module: ModuleType | None = object.__getattribute__(self, "_module")
        if module is None:
            # importlib's own lock makes a race between threads harmless: both get the
            # same module object.
            module = importlib.import_module(object.__getattribute__(self, "_name"))
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {object.__getattribute__(self, '_name')!r}>"


def lazy(name: str) -> Any:
    """The module ``name``, imported when one of its attributes is first read."""
    return _Lazy(name)
