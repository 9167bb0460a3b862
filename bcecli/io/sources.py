"""FILE arguments, ``-``, folders and object-store URLs, as sources with a format,
compression and delimiter."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from bcecli.errors import InputError, UsageError
from bcecli.io.filesystems import file_type, is_url, missing_error, url_path
from bcecli.io.formats import (
    DELIMITERS,
    INPUT_FORMATS,
    format_by_extension,
    split_compression,
)

STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One input: a file, standard input, or a folder of Parquet files (a dataset)."""

    path: str
    format: str  # one of formats.INPUT_FORMATS (formats.MEMORY_FORMAT in the API)
    compression: str | None = None
    delimiter: str = ","
    is_dataset: bool = False

    @property
    def is_stdin(self) -> bool:
        return self.path == STDIN


def make_sources(
    paths: Sequence[str], *, input_format: str | None = None, delimiter: str | None = None
) -> list[Source]:
    """Sources for the FILE arguments; no argument means standard input."""
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}.")
    if delimiter is not None:
        delimiter = _parse_delimiter(delimiter)
    sources = [_make_source(path, input_format, delimiter) for path in (paths or [STDIN])]
    if sum(source.is_stdin for source in sources) > 1:
        raise UsageError("Standard input (-) can be read only once.")
    return sources


def _make_source(path: str, input_format: str | None, delimiter: str | None) -> Source:
    if path == STDIN:
        fmt = input_format or "csv"
        return Source(path, fmt, None, delimiter or _default_delimiter(fmt))
    if is_url(path):
        kind = file_type(path)
        if kind == "missing":
            raise missing_error(path)
        if kind == "directory":  # a prefix: a Parquet dataset, as a local folder is
            return Source(path, "parquet", is_dataset=True)
        name = url_path(path).lower()
    else:
        if os.path.isdir(path):
            return Source(path, "parquet", is_dataset=True)
        if not os.path.exists(path):
            raise InputError(f"{path}: no such file. Check the path.")
        if not os.access(path, os.R_OK):
            raise InputError(f"{path}: permission denied; bce cannot read it.")
        name = path.lower()
    name, compression = split_compression(name)
    fmt = input_format or format_by_extension(name, INPUT_FORMATS) or "csv"
    if fmt == "parquet" and compression:
        raise InputError(f"{path}: a compressed Parquet file is not supported; decompress it.")
    return Source(path, fmt, compression, delimiter or _default_delimiter(fmt))


def _default_delimiter(fmt: str) -> str:
    return DELIMITERS.get(fmt, ",")


def _parse_delimiter(text: str) -> str:
    named = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
    value = named.get(text.lower(), text)
    if len(value) != 1:
        raise UsageError(f"--delimiter must be one character (or 'tab'), not {text!r}.")
    return value
