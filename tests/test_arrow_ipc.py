"""Issue 16, Arrow IPC input: ``.arrow``, ``.feather`` (v2), ``.ipc`` and ``.arrows``, the
file and the stream format, compressed or not, from files, standard input and object
stores. The same data gives the report that CSV and Parquet give, byte for byte apart
from ``inputs``, for any batches, chunk size, encoding and path (the C kernel's or not);
every bad file is one sentence and exit 2."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli.scoring.native_arrow
from bcecli._native import kernel
from bcecli.io.readers import Extent, measure, open_reader
from bcecli.io.sources import make_sources

from conftest import SAMPLE, bce_process, both, count_kernel_calls, moto_s3

TABLE = pq.read_table(SAMPLE / "preds.parquet")  # id, label, prob, segment, model_b, weight
FULL = ("-p", "prob", "-p", "model_b", "-w", "weight", "--by", "segment", "--calibration", "10")
WORST = ("--worst", "7", "--keep", "id,segment")


def write_ipc(
    table: pa.Table,
    path: Path,
    *,
    stream: bool = False,
    compression: str | None = None,
    batch_rows: int | None = None,
) -> Path:
    """TABLE as an Arrow IPC file (or stream) in record batches of at most batch_rows;
    a path ending in .gz is gzipped whole."""
    options = ipc.IpcWriteOptions(compression=compression)
    sink = pa.BufferOutputStream()
    new = ipc.new_stream if stream else ipc.new_file
    with new(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=batch_rows)
    data = sink.getvalue().to_pybytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def report(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    return run.json()


def without_inputs(document: dict[str, Any]) -> str:
    """The report as bytes, once the inputs' paths and formats are set aside."""
    document = dict(document)
    document.pop("inputs")
    for row in document["worst"]:
        row.pop("path")
    return json.dumps(document)


def refused(done: subprocess.CompletedProcess[bytes], *names: str) -> str:
    """The one sentence of a refused run (exit 2), which names each of ``names``."""
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    for name in names:
        assert name in stderr, stderr
    return stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The reports of the sample data as Parquet and as CSV, with and without --worst."""
    folder = tmp_path_factory.mktemp("ref")
    csv = folder / "preds.csv"
    pacsv.write_csv(TABLE, csv)
    found = {}
    for name, path in (("parquet", SAMPLE / "preds.parquet"), ("csv", csv)):
        for key, args in (("full", FULL), ("worst", (*FULL, *WORST, "--chunk-size", "2500"))):
            out = subprocess.run(
                [sys.executable, "-m", "bcecli", "score", str(path), *args, "--format", "json"],
                capture_output=True,
                check=True,
            ).stdout
            found[f"{name}-{key}"] = without_inputs(json.loads(out))
    assert found["parquet-worst"] == found["csv-worst"]
    return found


VARIANTS = {
    "file.arrow": {},
    "lz4.feather": {"compression": "lz4"},
    "zstd.arrow": {"compression": "zstd", "batch_rows": 999},
    "small-batches.ipc": {"batch_rows": 7},
    "stream.arrows": {"stream": True, "batch_rows": 1234},
    "zstd-stream.arrows": {"stream": True, "compression": "zstd"},
    "gzipped.arrow.gz": {"batch_rows": 3000},
    "gzipped-stream.arrows.gz": {"stream": True, "compression": "lz4"},
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_reports_as_csv_and_parquet(
    bce: Any, tmp_path: Path, reference: dict[str, str], name: str
) -> None:
    path = write_ipc(TABLE, tmp_path / name, **VARIANTS[name])
    document = report(bce, path, *FULL, *WORST, "--chunk-size", "2500")
    assert document["inputs"] == [
        {"path": str(path), "format": "arrow", "rows": 10_000, "skipped": 0}
    ]
    assert {row["path"] for row in document["worst"]} == {str(path)}
    assert without_inputs(document) == reference["parquet-worst"]


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
@pytest.mark.parametrize("name", ["file.arrow", "zstd-stream.arrows", "small-batches.ipc"])
@pytest.mark.parametrize(
    "options",
    [(), ("-w", "weight"), ("-p", "prob", "-p", "model_b", "--chunk-size", "700")],
)
def test_the_kernel_scores_record_batches_as_the_general_path_does(
    bce: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    name: str,
    options: tuple[str, ...],
) -> None:
    path = write_ipc(TABLE, tmp_path / name, **VARIANTS[name])
    scored = count_kernel_calls(monkeypatch, bcecli.scoring.native_arrow, "arrow_sums")
    fast, slow = both(bce, monkeypatch, "score", path, *options, "--format", "json")
    assert scored and all(scored)  # every chunk went to the kernel, and it took each
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, "")
    parquet = report(bce, SAMPLE / "preds.parquet", *options)
    assert without_inputs(fast.json()) == without_inputs(parquet)


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
def test_chunks_the_kernel_declines_are_scored_by_the_general_path(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A missing prob in row 4321 and an invalid one in row 8000: those chunks are declined.
    probs = TABLE.column("prob").to_pylist()
    probs[4320], probs[7999] = None, 1.5
    table = TABLE.set_column(2, "prob", pa.array(probs))
    path = write_ipc(table, tmp_path / "holes.arrow", batch_rows=1000)
    scored = count_kernel_calls(monkeypatch, bcecli.scoring.native_arrow, "arrow_sums")
    args = ("score", path, "--on-invalid", "skip", "--chunk-size", "1000", "--format", "json")
    fast, slow = both(bce, monkeypatch, *args)
    # The chunk with a null never reaches the kernel; the one with 1.5 is handed back.
    assert scored.count(False) == 1 and scored.count(True) == 8
    assert (fast.exit_code, fast.stdout) == (0, slow.stdout)
    assert fast.json()["inputs"][0]["skipped"] == 2
    # Under --on-invalid error, the first bad row in order is named, as for Parquet.
    fast, slow = both(bce, monkeypatch, "score", path)
    assert (fast.exit_code, fast.stderr) == (2, slow.stderr)
    assert fast.stderr.startswith(f"Error: {path} row 4321: prob is missing.")


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
def test_a_true_false_rule_from_an_earlier_file_holds_on_the_fast_path(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = tmp_path / "words.csv"
    first.write_text("label,prob\ntrue,0.9\nfalse,0.2\n", encoding="utf-8")
    path = write_ipc(TABLE.select(["label", "prob"]), tmp_path / "numbers.arrow")
    fast, slow = both(bce, monkeypatch, "score", first, path)
    assert (fast.exit_code, fast.stderr) == (2, slow.stderr)
    assert f"{path} row 1: label" in fast.stderr


LABEL_TYPES = ["int8", "int64", "uint8", "float32", "bool", "string", "large_string", "dict"]


def labelled(table: pa.Table, label_type: str) -> tuple[pa.Table, tuple[str, ...]]:
    """The table with its label column of ``label_type``, and the options that read it."""
    label = table.column("label")
    options: tuple[str, ...] = ()
    if label_type == "bool":
        label = pc.cast(label, pa.bool_())
    elif label_type in ("string", "large_string", "dict"):
        words = pc.if_else(pc.equal(label, 1), "churn", "stay")
        label = pc.cast(words, pa.large_string() if label_type == "large_string" else pa.string())
        if label_type == "dict":
            label = label.dictionary_encode()
        options = ("--pos-label", "churn")
    else:
        label = pc.cast(label, getattr(pa, label_type)())
    return table.set_column(table.schema.get_field_index("label"), "label", label), options


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batch_rows=st.integers(1, 12_000),
    chunk_size=st.integers(50, 12_000),
    stream=st.booleans(),
    compression=st.sampled_from([None, "lz4", "zstd"]),
    label_type=st.sampled_from(LABEL_TYPES),
    segment=st.sampled_from(["string", "large_string", "dictionary", "string_view"]),
    shuffle=st.integers(0, 2**32 - 1),
)
def test_any_batches_chunks_types_and_order_give_the_same_report(
    bce: Any,
    tmp_path_factory: pytest.TempPathFactory,
    batch_rows: int,
    chunk_size: int,
    stream: bool,
    compression: str | None,
    label_type: str,
    segment: str,
    shuffle: int,
) -> None:
    folder = tmp_path_factory.mktemp("any")
    order = np.random.default_rng(shuffle).permutation(TABLE.num_rows)
    table, options = labelled(TABLE.take(order), label_type)
    column = table.column("segment")
    if segment == "large_string":
        column = pc.cast(column, pa.large_string())
    elif segment == "dictionary":
        column = column.dictionary_encode()
    elif segment == "string_view":
        column = pc.cast(column, pa.string_view())
    table = table.set_column(table.schema.get_field_index("segment"), "segment", column)
    args = (*options, *FULL, "--chunk-size", str(chunk_size))
    path = write_ipc(
        table,
        folder / "any.arrow",
        stream=stream,
        compression=compression,
        batch_rows=batch_rows,
    )
    expected = report(bce, SAMPLE / "preds.parquet", *FULL, "--chunk-size", str(chunk_size))
    assert without_inputs(report(bce, path, *args)) == without_inputs(expected)


def test_standard_input_reads_both_formats_through_a_pipe(
    tmp_path: Path, reference: dict[str, str]
) -> None:
    for name in ("lz4.feather", "zstd-stream.arrows", "small-batches.ipc"):
        path = write_ipc(TABLE, tmp_path / name, **VARIANTS[name])
        with path.open("rb") as stdin:
            done = subprocess.run(
                [sys.executable, "-m", "bcecli", "score", "-", "--input-format", "arrow"]
                + [*FULL, "--format", "json"],
                stdin=stdin,
                capture_output=True,
                check=False,
            )
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        assert document["inputs"][0]["path"] == "-"
        assert document["inputs"][0]["format"] == "arrow"
        assert without_inputs(document) == reference["parquet-full"]


def test_rows_of_a_stream_on_standard_input_come_out_as_its_batches_arrive() -> None:
    table = TABLE.select(["label", "prob"]).slice(0, 6)
    with subprocess.Popen(
        [sys.executable, "-m", "bcecli", "rows", "-", "--input-format", "arrow"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            writer = ipc.new_stream(process.stdin, table.schema)
            writer.write_batch(table.to_batches()[0].slice(0, 3))
            process.stdin.flush()
            started = time.monotonic()
            assert process.stdout.readline() == b"label,prob,log_loss\n"
            assert process.stdout.readline().startswith(b"0,0.777703,")
            assert time.monotonic() - started < 30  # before the stream ends
            writer.write_batch(table.to_batches()[0].slice(3, 3))
            writer.close()
            process.stdin.close()
            rest = process.stdout.read().decode().splitlines()
            assert len(rest) == 5 and process.wait(timeout=60) == 0
        finally:
            process.kill()


def test_rows_of_an_arrow_file_are_the_rows_of_its_csv(bce: Any, tmp_path: Path) -> None:
    csv = tmp_path / "preds.csv"
    pacsv.write_csv(TABLE, csv, pacsv.WriteOptions(quoting_style="none"))
    path = write_ipc(TABLE, tmp_path / "preds.arrow", batch_rows=777)
    from_arrow = bce("rows", path, "--chunk-size", "1000")
    assert from_arrow.exit_code == 0, from_arrow.stderr
    assert from_arrow.stdout == bce("rows", csv, "--chunk-size", "1000").stdout
    out = tmp_path / "out.parquet"
    assert bce("rows", path, "-o", out, "--keep", "id").exit_code == 0
    assert pq.read_table(out).column_names == ["id", "log_loss"]


def test_csv_parquet_and_arrow_files_are_one_population(
    bce: Any, tmp_path: Path, reference: dict[str, str]
) -> None:
    csv = tmp_path / "a.csv"
    pacsv.write_csv(TABLE.slice(0, 3000), csv)
    parquet = tmp_path / "b.parquet"
    pq.write_table(TABLE.slice(3000, 3000), parquet)
    arrow = write_ipc(TABLE.slice(6000, 2000), tmp_path / "c.feather", compression="lz4")
    stream = write_ipc(TABLE.slice(8000), tmp_path / "d.arrows", stream=True)
    document = report(bce, csv, parquet, arrow, stream, *FULL)
    assert [(entry["format"], entry["rows"]) for entry in document["inputs"]] == [
        ("csv", 3000),
        ("parquet", 3000),
        ("arrow", 2000),
        ("arrow", 2000),
    ]
    assert without_inputs(document) == reference["parquet-full"]


def test_invalid_rows_are_named_by_row_as_for_parquet(bce: Any, tmp_path: Path) -> None:
    probs = TABLE.column("prob").to_pylist()
    probs[5203] = 1.7
    table = TABLE.set_column(2, "prob", pa.array(probs))
    path = write_ipc(table, tmp_path / "bad.arrow", batch_rows=1000)
    parquet = tmp_path / "bad.parquet"
    pq.write_table(table, parquet, row_group_size=1000)
    run = bce("score", path)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"Error: {path} row 5204: prob = 1.7 is outside [0, 1].")
    assert run.stderr.replace(str(path), "X") == bce("score", parquet).stderr.replace(
        str(parquet), "X"
    )


def test_a_local_file_is_memory_mapped_not_copied(tmp_path: Path) -> None:
    rows = 1_000_000
    table = pa.table({"label": np.zeros(rows, np.int8), "prob": np.full(rows, 0.25)})
    path = write_ipc(table, tmp_path / "big.arrow", batch_rows=100_000)
    reader = open_reader(make_sources([str(path)])[0])
    before = pa.total_allocated_bytes()
    try:
        chunks = reader.chunks(["label", "prob"], 250_000)
        total = 0
        for chunk in chunks:
            # Scored where it lies: none of its 9 MB is copied into Arrow's memory pool.
            assert pa.total_allocated_bytes() - before < 1 << 20
            total += chunk.table.num_rows
    finally:
        reader.close()
    assert total == rows


def resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux's /proc")
def test_a_mapped_file_s_unread_columns_are_never_touched(tmp_path: Path) -> None:
    # 64 MB of text nobody reads: checking it (its UTF-8) would page it all in.
    rows = 65_536
    table = pa.table(
        {
            "label": np.zeros(rows, np.int8),
            "prob": np.full(rows, 0.25),
            "payload": pa.array(["x" * 1024] * rows, pa.string()),
        }
    )
    path = write_ipc(table, tmp_path / "wide.arrow", batch_rows=8192)
    del table
    reader = open_reader(make_sources([str(path)])[0])
    before = resident_bytes()
    try:
        total = sum(chunk.table.num_rows for chunk in reader.chunks(["label", "prob"], 20_000))
        grown = resident_bytes() - before
    finally:
        reader.close()
    assert total == rows
    assert grown < 16 << 20, grown


def test_only_the_needed_columns_are_decoded(tmp_path: Path) -> None:
    wide = TABLE.append_column("payload", pa.array(["x" * 1000] * TABLE.num_rows))
    path = write_ipc(wide, tmp_path / "wide.arrows.gz", stream=True, compression="zstd")
    reader = open_reader(make_sources([str(path)])[0])
    try:
        assert reader.column_names == [*TABLE.column_names, "payload"]
        tables = [chunk.table for chunk in reader.chunks(["prob", "label"], 4000)]
    finally:
        reader.close()
    assert all(table.column_names == ["prob", "label"] for table in tables)
    assert sum(table.nbytes for table in tables) <= TABLE.num_rows * 16


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("file.arrow", "rows"),
        ("lz4.feather", "rows"),
        ("stream.arrows", "bytes"),
        ("gzipped.arrow.gz", "bytes"),
    ],
)
def test_the_progress_bar_counts_rows_or_bytes(tmp_path: Path, name: str, unit: str) -> None:
    path = write_ipc(TABLE, tmp_path / name, **VARIANTS[name])
    source = make_sources([str(path)])[0]
    size = TABLE.num_rows if unit == "rows" else path.stat().st_size
    assert measure(source) == Extent(size, unit)
    reader = open_reader(source)
    try:
        through = [chunk.through for chunk in reader.chunks(["label", "prob"], 2000)]
    finally:
        reader.close()
    assert len(through) == 5 and through[-1] == size
    assert through == sorted(through)  # type: ignore[type-var]


def test_repeated_names_no_header_and_duplicate_unused_columns(bce: Any, tmp_path: Path) -> None:
    table = pa.Table.from_arrays(
        [TABLE.column("label"), TABLE.column("prob"), TABLE.column("id"), TABLE.column("id")],
        names=["label", "prob", "x", "x"],
    )
    path = write_ipc(table, tmp_path / "dup.arrow")
    expected = without_inputs(report(bce, SAMPLE / "preds.parquet"))
    assert without_inputs(report(bce, path)) == expected
    by_position = report(bce, path, "--no-header", "-y", "1", "-p", "2")
    assert by_position["columns"]["label"] == "1"
    assert by_position["metrics"] == json.loads(expected)["metrics"]
    assert bce("rows", path).stdout.splitlines()[0] == "label,prob,x,x,log_loss"
    refused_run = bce("score", path, "-p", "x")
    assert refused_run.exit_code == 2 and "'x'" in refused_run.stderr


def test_run_end_encoded_and_view_columns_read_as_their_values(bce: Any, tmp_path: Path) -> None:
    table = TABLE.set_column(1, "label", pc.run_end_encode(TABLE.column("label")))
    table = table.set_column(3, "segment", pc.cast(table.column("segment"), pa.string_view()))
    path = write_ipc(table, tmp_path / "ree.arrow", batch_rows=4000)
    expected = report(bce, SAMPLE / "preds.parquet", *FULL, *WORST)
    assert without_inputs(report(bce, path, *FULL, *WORST)) == without_inputs(expected)


# -- bad files -------------------------------------------------------------------------


def _bytes_of(**kwargs: Any) -> bytes:
    sink = pa.BufferOutputStream()
    new = ipc.new_stream if kwargs.pop("stream", False) else ipc.new_file
    with new(sink, TABLE.schema) as writer:
        writer.write_table(TABLE, max_chunksize=1000)
    return sink.getvalue().to_pybytes()


FILE_BYTES = _bytes_of()
STREAM_BYTES = _bytes_of(stream=True)
# name -> (bytes of the file, words its one sentence holds)
BAD_FILES = {
    "empty.arrow": (b"", "is empty"),
    "cut-file.arrow": (FILE_BYTES[: len(FILE_BYTES) // 2], "truncated or corrupt"),
    "cut-footer.arrow": (FILE_BYTES[:-20], "truncated or corrupt"),
    "cut-stream.arrows": (STREAM_BYTES[: len(STREAM_BYTES) // 2], "truncated or corrupt"),
    "no-end.arrows": (STREAM_BYTES[:-8], "without its end-of-stream marker"),
    "schema-only.arrows": (STREAM_BYTES[:200], "truncated or corrupt"),
    "text.arrow": (b"label,prob\n1,0.5\n", "holds text, not Arrow IPC data"),
    "parquet.arrow": ((SAMPLE / "preds.parquet").read_bytes(), "is a Parquet file"),
    "v1.feather": (b"FEA1" + bytes(64) + b"FEA1", "rewrite it as Feather v2"),
    "noise.arrow": (bytes(range(7, 256)) * 4, "not a readable Arrow IPC stream"),
    "gzip.arrow": (gzip.compress(FILE_BYTES), "is gzip-compressed"),
}


@pytest.mark.parametrize("how", ["file", "stdin", "gz"])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_bad_file_is_one_sentence_naming_it(tmp_path: Path, name: str, how: str) -> None:
    data, words = BAD_FILES[name]
    if how == "file":
        path = tmp_path / name
        path.write_bytes(data)
        stderr = refused(bce_process("score", path), str(path), words)
    elif how == "gz":
        if name == "gzip.arrow":
            pytest.skip("a gzip file inside gzip is the gzip case itself")
        path = tmp_path / f"{name}.gz"
        path.write_bytes(gzip.compress(data))
        stderr = refused(bce_process("score", path), str(path))
    else:
        done = bce_process("score", "-", "--input-format", "arrow", input=data)
        stderr = refused(done, "standard input")
    if how != "file" and "truncated" in words:
        # Read front to back, a cut file may end at a batch, before its footer.
        assert "truncated" in stderr
    else:
        assert words in stderr


def test_a_file_cut_at_a_batch_boundary_read_front_to_back_is_refused(tmp_path: Path) -> None:
    # Its stream part is whole up to a batch: only the missing footer tells.
    stream_part = STREAM_BYTES[:-8]
    data = FILE_BYTES[:8] + stream_part
    done = bce_process("score", "-", "--input-format", "arrow", input=data)
    assert "ends without its footer after row 10000" in refused(done, "standard input")


def test_a_missing_column_is_one_sentence(tmp_path: Path) -> None:
    path = write_ipc(
        TABLE.drop_columns(["prob"]).rename_columns(
            ["id", "label", "segment", "model_b", "weight"]
        ),
        tmp_path / "noprob.arrow",
    )
    stderr = refused(bce_process("score", path, "-p", "prob"), str(path))
    assert "no column 'prob'" in stderr


def test_an_arrow_file_passed_as_csv_says_how_to_read_it(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    path.write_bytes(FILE_BYTES)
    assert "pass --input-format arrow" in refused(bce_process("score", path), str(path))
    stdin = bce_process("score", "-", input=STREAM_BYTES)
    assert "an Arrow IPC stream" in refused(stdin, "standard input")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(0, len(FILE_BYTES) - 1), value=st.integers(0, 255))
def test_a_corrupt_byte_is_never_a_crash(bce: Any, position: int, value: int) -> None:
    data = bytearray(FILE_BYTES)
    data[position] = value
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "corrupt.arrow")
        with open(path, "wb") as stream:
            stream.write(data)
        run = bce("score", path, "--format", "json")
    assert run.exit_code in (0, 2)
    if run.exit_code == 2:
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr


# -- object stores and Dask ----------------------------------------------------------------


def test_objects_score_as_their_local_files(bce: Any, tmp_path: Path) -> None:
    pytest.importorskip("boto3")
    files = {
        "p.feather": write_ipc(TABLE, tmp_path / "p.feather", compression="zstd"),
        "s.arrows": write_ipc(TABLE, tmp_path / "s.arrows", stream=True, batch_rows=999),
        "g.arrow.gz": write_ipc(TABLE, tmp_path / "g.arrow.gz", batch_rows=3000),
    }
    expected = without_inputs(report(bce, SAMPLE / "preds.parquet", *FULL, *WORST))
    with moto_s3("bce-arrow", files) as _:
        for key in files:
            document = report(bce, f"s3://bce-arrow/{key}", *FULL, *WORST)
            assert document["inputs"][0]["path"] == f"s3://bce-arrow/{key}"
            assert without_inputs(document) == expected
        bad = tmp_path / "cut.arrow"
        bad.write_bytes(FILE_BYTES[:5000])
    with moto_s3("bce-arrow", {"cut.arrow": bad}) as _:
        run = bce("score", "s3://bce-arrow/cut.arrow")
        assert run.exit_code == 2
        assert run.stderr.startswith("Error: s3://bce-arrow/cut.arrow is not a readable")


def test_the_dask_engine_scores_arrow_files_as_the_local_engine(bce: Any, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    paths = [
        write_ipc(TABLE.slice(0, 4000), tmp_path / "a.arrow", batch_rows=500),
        write_ipc(TABLE.slice(4000, 4000), tmp_path / "b.arrows", stream=True),
        write_ipc(TABLE.slice(8000), tmp_path / "c.feather.gz", compression="lz4"),
    ]
    args = (*FULL, *WORST, "--format", "json")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        dask = bce(
            "score", *paths, *args, "--engine", "dask", "--scheduler", cluster.scheduler_address
        )
    local = bce("score", *paths, *args)
    assert local.exit_code == 0, local.stderr
    assert (dask.exit_code, dask.stdout, dask.stderr) == (0, local.stdout, "")
