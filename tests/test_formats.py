"""One table of formats (bcecli/io/formats.py): the report schema, the CLI's choices,
the sources and the writers all agree with it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import click
import pytest

from bcecli.cli import cli
from bcecli.errors import UsageError
from bcecli.io.formats import (
    EXTENSIONS,
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    READ_AS,
    REPORT_FORMATS,
)
from bcecli.io.sources import make_sources
from bcecli.io.writers import output_format


def test_report_schema_enum_is_the_report_formats() -> None:
    resource = files("bcecli") / "report/schema/bce.report-1.schema.json"
    schema = json.loads(resource.read_text(encoding="utf-8"))
    enum = schema["properties"]["inputs"]["items"]["properties"]["format"]["enum"]
    assert enum == list(REPORT_FORMATS)


def _choices(command: str, option: str) -> list[str]:
    for param in cli.commands[command].params:
        if f"--{option}" in param.opts:
            assert isinstance(param.type, click.Choice)
            return list(param.type.choices)
    raise AssertionError(f"bce {command} has no --{option}")


@pytest.mark.parametrize("command", ["score", "rows"])
def test_input_format_choices_are_the_input_formats(command: str) -> None:
    assert _choices(command, "input-format") == list(INPUT_FORMATS)


def test_output_format_choices_are_the_output_formats() -> None:
    assert _choices("rows", "output-format") == list(OUTPUT_FORMATS)


@pytest.mark.parametrize("suffix", sorted(EXTENSIONS))
def test_inputs_and_outputs_read_the_extension_table(suffix: str, tmp_path: Path) -> None:
    fmt = EXTENSIONS[suffix]
    if fmt in OUTPUT_FORMATS:
        assert output_format(f"out{suffix}", None) == fmt
        assert output_format(f"out{suffix}.GZ", None) == fmt  # compression is taken off first
    else:  # an input-only format (Arrow IPC) is never written under its name
        with pytest.raises(UsageError):
            output_format(f"out{suffix}", None)
    path = tmp_path / f"in{suffix.upper()}"
    path.touch()
    # JSON Lines is written as ndjson and read as jsonl, never as CSV.
    assert make_sources([str(path)])[0].format == READ_AS.get(suffix, fmt)
    assert make_sources([str(path)])[0].format in INPUT_FORMATS


@pytest.mark.parametrize("suffix", sorted(READ_AS))
def test_json_names_are_read_as_json_lines(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"in{suffix}.gz"
    path.touch()
    source = make_sources([str(path)])[0]
    assert (source.format, source.compression) == ("jsonl", "gzip")


def test_the_table_imports_only_the_standard_library() -> None:
    # The CLI reads it at start-up, before it knows whether pyarrow is needed.
    code = (
        "import sys\nimport bcecli.io.formats\n"
        "print([m for m in ('pyarrow', 'numpy', 'click', 'rich') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("fmt", INPUT_FORMATS)
def test_every_input_format_names_its_reader_class(fmt: str) -> None:
    import importlib

    from bcecli.io.formats import READERS

    module, _, name = READERS[fmt].partition(":")
    reader_class = getattr(importlib.import_module(module), name)
    assert callable(reader_class.chunks) and callable(reader_class.close)
