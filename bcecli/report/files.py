"""Files written whole or not at all: a temporary name beside the target, renamed at the end."""

from __future__ import annotations

import os
import tempfile

from bcecli.errors import InputError


def write_atomic(path: str, text: str) -> None:
    """Write text to path; on any failure the target is untouched and no temp file remains."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".bce-", suffix=".tmp", dir=directory)
    except OSError as error:
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
