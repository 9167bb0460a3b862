"""Report files written whole or not at all (see bcecli.outputs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bcecli.errors import InputError
from bcecli.outputs import output_target


def write_atomic(path: str, text: str) -> None:
    """Write text to path; on any failure the target is untouched and no temp file remains."""
    with replacing(path) as target:
        with open(target, "w", encoding="utf-8") as stream:
            stream.write(text)


@contextmanager
def replacing(path: str) -> Iterator[str]:
    """A path to write in place of ``path``: a temporary renamed over it if the block
    succeeds (a reader sees the old file or the new one, never half), or ``path``
    itself for a device or pipe such as /dev/stdout.

    For writers that want a path of their own (matplotlib's savefig).
    """
    try:
        with output_target(path) as (target, _direct):
            yield target
    except OSError as error:
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from None
