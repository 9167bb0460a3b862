"""Fuzzing: mangled CSV and Parquet bytes are scored (exit 0) or refused plainly (exit 2).

Never a traceback, never an exception ignored inside pyarrow's callbacks, never another
exit code. main() runs in-process (Hypothesis cannot reuse the function-scoped ``bce``
fixture), with its output captured here.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bcecli.cli import main

from conftest import CORPUS


def _parquet(table: pa.Table, **options: Any) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def _bases() -> dict[str, list[bytes]]:
    rng = np.random.default_rng(7)
    n = 60
    table = pa.table(
        {
            "label": rng.integers(0, 2, n),
            "prob": np.round(rng.random(n), 4),
            "w": np.round(rng.random(n), 3),
            "g": pa.array(rng.choice(["a", "b"], n)).dictionary_encode(),
        }
    )
    csv = [
        (CORPUS / name).read_bytes()
        for name in ("bool_labels.csv", "crlf.csv", "bom.csv", "string_labels.csv", "ragged.csv")
    ]
    columns = [table.column(name).to_pylist() for name in table.column_names]
    rows = "".join(",".join(map(str, row)) + "\n" for row in zip(*columns))
    csv.append(("label,prob,w,g\n" + rows).encode())
    return {
        "csv": csv,
        "parquet": [
            _parquet(table),
            _parquet(table, compression="zstd", row_group_size=16),
            _parquet(table, use_dictionary=False, compression="none"),
        ],
    }


BASES = _bases()
OPTIONS = [
    [],
    ["--on-invalid", "skip"],
    ["--pos-label", "spam"],
    ["--no-header", "-y", "1", "-p", "2"],
    ["-y", "label", "-p", "prob", "-w", "w", "--by", "g", "--worst", "3", "--calibration", "4"],
    ["--chunk-size", "7", "--on-invalid", "skip"],
]
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["set", "insert", "delete", "cut"]),
        st.floats(0, 1),  # where, as a fraction of the length
        st.one_of(
            st.binary(min_size=1, max_size=4),
            # Bytes that break CSV structure or encoding; ",\xe9" makes a line both
            # ragged and not UTF-8, which once crashed inside pyarrow's row callback.
            st.sampled_from(
                [b"\n", b",", b'"', b"\r", b"\x00", b"\xff", b";", b"nan", b"-1", b",\xe9"]
            ),
        ),
    ),
    min_size=1,
    max_size=6,
)


def _mutate(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, chunk in edits:
        at = min(int(where * len(out)), max(len(out) - 1, 0))
        if kind == "set" and out:
            out[at : at + len(chunk)] = chunk[: len(out) - at]
        elif kind == "insert":
            out[at:at] = chunk
        elif kind == "delete":
            del out[at : at + len(chunk) * 3]
        elif kind == "cut":
            del out[at:]
    return bytes(out)


@st.composite
def inputs(draw: st.DrawFn) -> tuple[str, bytes, list[str]]:
    kind = draw(st.sampled_from(["csv", "parquet", "csv.gz", "csv.bz2", "random"]))
    if kind == "random":
        suffix = draw(st.sampled_from(["csv", "tsv", "parquet", "csv.gz"]))
        return suffix, draw(st.binary(max_size=400)), draw(st.sampled_from(OPTIONS))
    base = draw(st.sampled_from(BASES["parquet" if kind == "parquet" else "csv"]))
    if kind == "csv.gz":
        base = gzip.compress(base, mtime=0)
    elif kind == "csv.bz2":
        base = bz2.compress(base)
    return kind, _mutate(base, draw(EDITS)), draw(st.sampled_from(OPTIONS))


@contextlib.contextmanager
def _unraisable() -> Iterator[list[str]]:
    """Collects what Python would print as 'Exception ignored in ...' (e.g. in a callback)."""
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda hook: seen.append(repr(hook.exc_value))
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


@contextlib.contextmanager
def _stdin(stream: Any) -> Iterator[None]:
    previous, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = previous


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=inputs(), via_stdin=st.booleans())
# A line both ragged and not UTF-8: pyarrow's invalid-row callback once raised inside
# itself (printed as an ignored exception) and bce fell back to a vague message.
@example(
    case=("csv", (CORPUS / "ragged.csv").read_bytes().replace(b",7", b",7,\xe9"), []),
    via_stdin=False,
)
# Text on standard input read as Parquet: a short input once broke the diagnosis.
@example(case=("parquet", b"label,prob\n1,0.5\n", []), via_stdin=True)
def test_mangled_input_is_scored_or_refused_plainly(
    folder: Path, case: tuple[str, bytes, list[str]], via_stdin: bool
) -> None:
    suffix, data, options = case
    if via_stdin:  # the same bytes on a pipe, in the format the name says
        source = ["-", "--input-format", "parquet" if suffix == "parquet" else "csv"]
        stdin: Any = io.TextIOWrapper(io.BytesIO(data))
    else:
        path = folder / f"input.{suffix}"
        path.write_bytes(data)
        source, stdin = [str(path)], sys.stdin
    out, err = io.StringIO(), io.StringIO()
    with (
        _unraisable() as ignored,
        _stdin(stdin),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(["score", *source, "--format", "json", *options])
    stderr = err.getvalue()
    assert ignored == []
    assert "Traceback" not in stderr
    assert code in (0, 2), stderr
    if code == 0:
        json.loads(out.getvalue())
    else:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 2, stderr
        assert lines[0].startswith(("Error: ", "Usage: ")), stderr
