"""Output files written whole or not at all: a temporary name beside the target,
renamed over it at the end; devices and pipes are written directly."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from bcecli.errors import InputError


@contextmanager
def output_target(path: str) -> Iterator[tuple[str, bool]]:
    """(name to write to, whether it is PATH itself): a temporary beside PATH, renamed at the end.

    Devices and pipes (``-o /dev/stdout``) are written directly: renaming over
    them would replace the device with a regular file.
    """
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise InputError(f"Cannot write {path}: {error.strerror or error}.") from None
    if mode is not None and not stat.S_ISREG(mode):
        yield path, True
        return
    # Through a symlink, replace the file it points to and keep the link.
    real = os.path.realpath(path)
    temporary = _create_temporary(real, path)
    try:
        if mode is not None:
            os.chmod(temporary, stat.S_IMODE(mode))  # keep the replaced file's permissions
        yield temporary, False
        os.replace(temporary, real)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _create_temporary(real: str, path: str) -> str:
    directory, name = os.path.split(real)
    stem, extension = os.path.splitext(name)
    for _ in range(100):
        # The target's extension kept last: some writers pick a format by it (savefig).
        temporary = os.path.join(
            directory, f".{stem}.bce-{secrets.token_hex(4)}{extension or '.tmp'}"
        )
        try:
            # O_EXCL: never clobber another file; mode 0o666 lets the umask apply as
            # for any new file (mkstemp would leave it private to the owner).
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise InputError(f"Cannot write {path}: {error.strerror or error}.") from None
        os.close(fd)
        return temporary
    raise InputError(f"Cannot write {path}: no free temporary name in its folder.")
