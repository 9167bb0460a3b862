"""The formats bce reads and writes, the file extensions that name them and the
compressions it reads and writes: the one table that the sources, the writers, the
CLI's choices and the report schema's test all read.

Standard library only: the CLI imports it at start-up to build its option choices.
"""

from __future__ import annotations

# Each readable format and the class that reads it ("module:Class", imported only when
# a source of that format is read): what a FILE argument or standard input can be read
# as (--input-format). A new input format is a row here and in EXTENSIONS, its reader
# module, and its name in the report schema's enum.
READERS = {
    "csv": "bcecli.io.csv_reader:CsvReader",
    "tsv": "bcecli.io.csv_reader:CsvReader",
    "parquet": "bcecli.io.parquet_reader:ParquetReader",
    "jsonl": "bcecli.io.jsonl_reader:JsonlReader",
    "arrow": "bcecli.io.arrow_reader:ArrowReader",
}
INPUT_FORMATS = tuple(READERS)
# What ``bce rows`` can write (--output-format).
OUTPUT_FORMATS = ("csv", "tsv", "ndjson", "parquet")
# An in-memory table, DataFrame or arrays given to the Python API: Arrow data, as an
# Arrow IPC file is; its report entry's path ("<memory>") tells them apart.
MEMORY_FORMAT = "arrow"
# What a report's ``inputs[].format`` may hold (the schema's enum).
REPORT_FORMATS = tuple(dict.fromkeys((*INPUT_FORMATS, MEMORY_FORMAT)))

# File extension -> format, after any compression suffix is taken off. Inputs use
# the entries whose format they can read, then READ_AS.
EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".arrows": "arrow",
}
# Input extensions whose format is read under another name than it is written: JSON
# Lines is read as "jsonl" (also from .json, one object per line) and written as "ndjson".
READ_AS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
# Compression suffix -> codec name, as pyarrow's streams name them.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
# Field delimiter of each delimited-text format.
DELIMITERS = {"csv": ",", "tsv": "\t"}


def split_compression(name: str) -> tuple[str, str | None]:
    """(NAME without its compression suffix, the codec or None); suffixes in any case."""
    lower = name.lower()
    for suffix, codec in COMPRESSIONS.items():
        if lower.endswith(suffix):
            return name[: -len(suffix)], codec
    return name, None


def format_by_extension(name: str, formats: tuple[str, ...]) -> str | None:
    """The format among ``formats`` that NAME's extension (any case) names, or None."""
    lower = name.lower()
    for suffix, fmt in (*EXTENSIONS.items(), *READ_AS.items()):
        if lower.endswith(suffix) and fmt in formats:
            return fmt
    return None
