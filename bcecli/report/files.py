"""Files written whole or not at all: a temporary name beside the target, renamed at the end."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from bcecli.errors import InputError


def write_atomic(path: str, text: str) -> None:
    """Write text to path; on any failure the target is untouched and no temp file remains."""
    with replacing(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)


@contextmanager
def replacing(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` to write; renamed over ``path`` if the block succeeds.

    For writers that want a path of their own (matplotlib's savefig). The rename is
    atomic on one filesystem, so a reader sees the old file or the new one, never half.
    """
    directory = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1] or ".tmp"  # some writers pick a format by extension
    try:
        handle, temporary = tempfile.mkstemp(prefix=".bce-", suffix=suffix, dir=directory)
    except OSError as error:
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from None
    os.close(handle)
    try:
        yield temporary
        # mkstemp makes the file private (0600); a report gets the usual mode.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from None
    except BaseException:
        _remove(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
