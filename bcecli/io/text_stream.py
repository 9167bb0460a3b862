"""A line-oriented text source read front to back (CSV, TSV, JSON Lines): a file,
optionally compressed, an object store's object or standard input, cut into blocks of
whole lines, each with how far through the source as stored its end is.

``TextStream`` is the base of the readers of such text: it owns the stream, the bytes
read, the end of the stream and the position for the progress bar; each reader adds
its header (or sample) and how a block is parsed.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from bcecli.core.lazy import lazy
from bcecli.errors import InputError, shown_path
from bcecli.io import filesystems
from bcecli.io.reader_base import Extent, line_blocks, read_text, reason, tell_stored
from bcecli.io.sources import Source

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

STREAM_BUFFER = 1 << 22  # read buffer of a decompressed or remote stream


class TextStream:
    """The stream of a source's text, read front to back in blocks of whole lines.

    ``_pending`` holds what was read ahead of the blocks (a header's read, a sample):
    the blocks start with it. ``_cr_line_ends`` (classic Mac files, which the CSV
    reader detects) makes every CR a line end as it is read.
    """

    _cr_line_ends = False

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = shown_path(source.path)
        self._stream: IO[bytes]
        self._stream, self._stored = open_text_stream(source)
        self._pending = b""
        self._text_read = 0  # bytes of text read from the stream, after decompression
        self._eof = False

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()

    @staticmethod
    def extent(source: Source) -> Extent | None:
        """The file's size as stored, which ``Chunk.through`` counts towards; None for
        standard input or a pipe, whose size is unknown."""
        if source.is_stdin:
            return None
        if filesystems.is_url(source.path):
            size = filesystems.stored_size(source.path)
            return None if size is None else Extent(size, "bytes")
        status = os.stat(source.path)
        return Extent(status.st_size, "bytes") if stat.S_ISREG(status.st_mode) else None

    def _position(self) -> int | None:
        """How far through the file as stored reading is (bytes read of a compressed file
        before decompression); None where that is unknown (standard input, a pipe)."""
        self._stored, position = tell_stored(self._stored)
        return position

    def _measured(self, blocks: Iterator[bytes], before: int) -> Iterator[tuple[bytes, int | None]]:
        """Each block with how far through the stored file its end is: the stored position
        as the block is cut, times the share of the text read so far that ends with this
        block (exact for plain text; for compressed text, at the ratio read so far).
        ``before`` is the text before the first block (the header). Taken as blocks are
        cut: reading runs ahead of parsing."""
        text_end = before
        for block in blocks:
            text_end += len(block)
            position = self._position()
            if position is None:
                yield block, None
            else:
                yield block, position * text_end // max(self._text_read, 1)

    def _read(self, size: int) -> bytes:
        """The next piece of the stream (``read_text``), lone CRs made line ends where
        the text ends its lines so."""
        data = read_text(self._stream, size, pipe=self.source.is_stdin, name=self.name)
        if not data:
            self._eof = True
        self._text_read += len(data)
        return data.replace(b"\r", b"\n") if self._cr_line_ends else data

    def _blocks(self, block_bytes: int) -> Iterator[bytes]:
        """Byte blocks of whole lines (``line_blocks``), what was read ahead first."""
        pending, self._pending = self._pending, b""
        yield from line_blocks(
            pending, lambda size: b"" if self._eof else self._read(size), block_bytes
        )


def open_text_stream(source: Source) -> tuple[IO[bytes], Any]:
    """The source's text, and the stream of its bytes as stored, whose ``tell()`` is how
    far through the file reading is (None for standard input).

    A compressed file is decompressed here, over a stored stream of its own, so that
    position counts compressed bytes, as the file's size does.
    """
    if source.is_stdin:
        return sys.stdin.buffer, None
    try:
        if filesystems.is_url(source.path):
            stored = _Counted(filesystems.open_stream(source.path, None))
        elif source.compression:
            stored = pa.OSFile(source.path)
        else:
            plain = open(source.path, "rb", buffering=0)  # noqa: SIM115 - closed by the reader
            return plain, plain
        stream = stored
        if source.compression:
            stream = pa.CompressedInputStream(stored, source.compression)
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"{source.path}: cannot open it ({reason(error)}).") from None
    return io.BufferedReader(stream, buffer_size=STREAM_BUFFER), stored


class _Counted(io.RawIOBase):
    """An object store's stream, which cannot tell its position, counting the bytes read."""

    def __init__(self, stream: pa.NativeFile) -> None:
        super().__init__()
        self._stream = stream
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = int(self._stream.readinto(buffer))
        self._read += count
        return count

    def tell(self) -> int:
        return self._read

    def close(self) -> None:
        self._stream.close()
        super().close()
