"""FILE arguments, ``-``, folders and object-store URLs, as sources with a format,
compression and delimiter."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from bcecli.errors import InputError, UsageError
from bcecli.io.filesystems import file_type, is_url, missing_error, url_path

STDIN = "-"
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv"}
PARQUET_SUFFIXES = (".parquet", ".pq")
INPUT_FORMATS = ("csv", "tsv", "parquet")


@dataclass(frozen=True)
class Source:
    """One input: a file, standard input, or a folder of Parquet files (a dataset)."""

    path: str
    format: str  # csv, tsv or parquet
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
    compression = None
    for suffix, codec in COMPRESSIONS.items():
        if name.endswith(suffix):
            compression = codec
            name = name[: -len(suffix)]
            break
    if input_format is not None:
        fmt = input_format
    elif name.endswith(PARQUET_SUFFIXES):
        fmt = "parquet"
    else:
        fmt = next((f for s, f in TEXT_FORMATS.items() if name.endswith(s)), "csv")
    if fmt == "parquet" and compression:
        raise InputError(f"{path}: a compressed Parquet file is not supported; decompress it.")
    return Source(path, fmt, compression, delimiter or _default_delimiter(fmt))


def _default_delimiter(fmt: str) -> str:
    return "\t" if fmt == "tsv" else ","


def _parse_delimiter(text: str) -> str:
    named = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
    value = named.get(text.lower(), text)
    if len(value) != 1:
        raise UsageError(f"--delimiter must be one character (or 'tab'), not {text!r}.")
    return value
