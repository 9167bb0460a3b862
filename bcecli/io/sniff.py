"""Sniffing: what a file's first bytes or its header line say it is, when it is not
what bce was told (a binary file passed as CSV, text passed as Parquet, another delimiter)."""

from __future__ import annotations

import codecs
import json

PARQUET_MAGIC = b"PAR1"
# Arrow IPC: the file format (Feather v2) opens with this magic; the stream format with a
# message's continuation marker; Feather v1, which bce does not read, with its own.
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"
FEATHER_V1_MAGIC = b"FEA1"
ARROW_FILE_KIND = "an Arrow IPC (Feather) file"
ARROW_STREAM_KIND = "an Arrow IPC stream"
# Delimiters to suggest when a header splits into one column: (how to say it, -d value).
_DELIMITER_HINTS = {
    ";": ("';'", "';'"),
    "\t": ("a tab", "tab"),
    "|": ("'|'", "'|'"),
    ",": ("','", "','"),
}
# What a binary file is, by its first bytes, and what to do about it.
_MAGIC = (
    (PARQUET_MAGIC, "a Parquet file", "pass --input-format parquet or name it .parquet"),
    (ARROW_FILE_MAGIC, ARROW_FILE_KIND, "pass --input-format arrow or name it .arrow"),
    (ARROW_STREAM_MAGIC, ARROW_STREAM_KIND, "pass --input-format arrow or name it .arrows"),
    (FEATHER_V1_MAGIC, "a Feather v1 file", "rewrite it as Feather v2 (Arrow IPC)"),
    (b"\x1f\x8b", "gzip-compressed", "name it .gz or pipe it through zcat"),
    (b"BZh", "bzip2-compressed", "name it .bz2 or pipe it through bzcat"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "name it .zst or pipe it through zstdcat"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (xz -d)"),
    (b"PK\x03\x04", "a zip archive", "extract it, or export the workbook as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Excel workbook", "export it as CSV"),
    (b"\xff\xfe", "UTF-16 text", "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"),
    (b"\xfe\xff", "UTF-16 text", "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"),
)


def binary_kind(data: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) for bytes that are not text, else None."""
    head = data[:65536]
    has_nul = b"\x00" in head
    if not has_nul and is_utf8_prefix(head):
        return None
    kind = magic_kind(head)
    if kind is not None:
        return kind
    if has_nul:
        return "binary data", "pass a CSV, TSV or Parquet file"
    return None  # not UTF-8, but text-like: the header check says so


def magic_kind(data: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) for bytes that open with a known binary magic, else None."""
    for magic, what, todo in _MAGIC:
        if data.startswith(magic):
            return what, todo
    return None


def delimiter_hint(header: str, delimiter: str) -> tuple[str, str] | None:
    """(how to say it, -d value) of another delimiter a one-column header holds, or None."""
    if delimiter in header:
        return None
    return next((hint for d, hint in _DELIMITER_HINTS.items() if d in header), None)


def looks_like_json(line: str) -> bool:
    """The first line of a file is a JSON object or array: JSON Lines (or JSON), not CSV."""
    text = line.strip()
    if not text.startswith(("{", "[")):
        return False
    if text in ("{", "["):  # pretty-printed JSON
        return True
    try:
        return isinstance(json.loads(text), (dict, list))
    except ValueError:  # [label],[prob] as SQL Server writes it
        return False


def looks_like_text(head: bytes) -> bool:
    """The first bytes of a file are (UTF-8) text, not binary data."""
    return bool(head.strip()) and binary_kind(head) is None and is_utf8_prefix(head)


def is_utf8_prefix(data: bytes) -> bool:
    """UTF-8 but for a character cut at the end."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def is_utf8(value: bytes) -> bool:
    """The whole of VALUE is UTF-8."""
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
