"""``cached``: a value computed on first access and kept on the instance, lock-free.

``functools.cached_property`` in Python 3.11 holds one lock per property for all
instances while it computes: chunks scored on different threads would wait for each
other's sums. Each of our instances is used by one thread, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached(Generic[T]):  # noqa: N801 - used as a decorator, like property
    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached[T]:
        if instance is None:
            return self
        value = self.function(instance)
        # The instance's own attribute now hides this (non-data) descriptor.
        instance.__dict__[self.name] = value
        return value
