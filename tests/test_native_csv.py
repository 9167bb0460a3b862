"""The C kernel's CSV fast path against the general path: the same report to the byte,
the same errors and row numbers, whatever the spelling, chunking or line ends.

Both paths run in this process: ``pure`` switches the kernel off where it is looked up
(the fast path and the array kernels), as ``BCE_NATIVE=0`` does for a whole process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli.core.accumulate
import bcecli.scoring.native_csv
from bcecli._native import kernel

from conftest import CORPUS, SAMPLE, bce_process, both, count_kernel_calls

SAMPLE_CSV = SAMPLE / "preds.csv"

pytestmark = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each block the fast path was handed: True where the kernel scored it."""
    return count_kernel_calls(monkeypatch, bcecli.scoring.native_csv, "scan_csv")


OPTIONS = [
    (),
    ("-w", "weight"),
    ("-p", "prob", "-p", "model_b"),
    ("-p", "prob", "-p", "model_b", "-w", "weight", "--chunk-size", "700"),
    (
        "--eps",
        "0.01",
    ),
]


@pytest.mark.parametrize("options", OPTIONS, ids=" ".join)
def test_the_sample_scores_alike_on_both_paths(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool], options: tuple[str, ...]
) -> None:
    fast, slow = both(bce, monkeypatch, "score", SAMPLE_CSV, "--format", "json", *options)
    assert fast.exit_code == slow.exit_code == 0
    assert fast.stdout == slow.stdout
    assert scanned and all(scanned)  # the kernel scored every block


@pytest.mark.parametrize(
    "name",
    sorted(path.name for path in CORPUS.glob("*.csv") if path.is_file()),
)
@pytest.mark.parametrize("options", [(), ("--on-invalid", "skip")], ids=["error", "skip"])
def test_every_corpus_csv_gives_the_same_outcome(
    bce: Any, monkeypatch: pytest.MonkeyPatch, name: str, options: tuple[str, ...]
) -> None:
    fast, slow = both(bce, monkeypatch, "score", CORPUS / name, "--format", "json", *options)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_a_block_with_an_invalid_row_names_it_as_the_general_path_does(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scanned: list[bool]
) -> None:
    lines = ["label,prob"] + [f"{i % 2},0.{i % 9 + 1}" for i in range(200_000)]
    lines[150_001] = "1,1.5"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    fast, slow = both(bce, monkeypatch, "score", path, "--chunk-size", "20000")
    assert fast.exit_code == slow.exit_code == 2
    assert fast.stderr == slow.stderr
    assert "row 150001" in fast.stderr and "1.5" in fast.stderr
    assert True in scanned and False in scanned  # scanned blocks, then the general parser


# -- generated files: spellings, line ends, quoting, chunking --------------------------

PROBABILITY_SPELLINGS = st.one_of(
    st.floats(0.0, 1.0).map(repr),
    st.floats(0.0, 1.0).map(lambda p: f"{p:.3f}"),
    st.floats(0.0, 1.0).map(lambda p: f"{p:.6e}"),
    st.floats(0.0, 1.0).map(lambda p: f"{p:.20f}"),
    st.sampled_from(["0", "1", "0.5", ".5", "5e-1", "+0.25", "-0", "1.", "0.0000001", "1e-320"]),
)
LABEL_SPELLINGS = st.sampled_from(["0", "1", "1.0", "0.0", "1e0", "+1", "-0"])
ODD_VALUES = st.sampled_from(["", " 0.5", "nan", "inf", "2", "-0.1", "abc", '"0.5"', "0x1"])


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """A small CSV of label, prob, weight, note with assorted spellings; and a chunk size."""
    rows = draw(st.integers(1, 60))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["label,prob,weight,note"]
    for _ in range(rows):
        label = draw(LABEL_SPELLINGS)
        prob = draw(
            st.one_of(PROBABILITY_SPELLINGS, ODD_VALUES)
            if draw(st.booleans())
            else PROBABILITY_SPELLINGS
        )
        weight = draw(st.sampled_from(["1", "0.5", "2e3", "0", "3.25"]))
        note = draw(st.sampled_from(["x", "", "a b", '"q,uoted"']))
        lines.append(f"{label},{prob},{weight},{note}")
        if draw(st.integers(0, 20)) == 0:
            lines.append("")  # a blank line, skipped by both
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return text.encode(), draw(st.sampled_from([1, 3, 17, 100_000]))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=csv_files(), weighted=st.booleans(), skip=st.booleans())
def test_generated_files_score_alike(
    bce: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    data: tuple[bytes, int],
    weighted: bool,
    skip: bool,
) -> None:
    text, chunk_size = data
    path = tmp_path / "generated.csv"
    path.write_bytes(text)
    args: list[Any] = ["score", path, "--format", "json", "--chunk-size", chunk_size]
    if weighted:
        args += ["-w", "weight"]
    if skip:
        args += ["--on-invalid", "skip"]
    fast, slow = both(bce, monkeypatch, *args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_bce_native_0_forces_the_pure_path_with_the_same_report() -> None:
    runs = {
        native: bce_process(
            "score", SAMPLE_CSV, "-w", "weight", "--format", "json", env={"BCE_NATIVE": native}
        )
        for native in ("1", "0")
    }
    assert runs["1"].returncode == runs["0"].returncode == 0
    assert runs["1"].stdout == runs["0"].stdout
    assert json.loads(runs["1"].stdout)["metrics"]["rows"] == 10_000


def test_version_says_whether_the_kernel_runs() -> None:
    on = bce_process("--version")
    off = bce_process("--version", env={"BCE_NATIVE": "0"})
    assert on.stdout.decode().splitlines()[1] == "native kernel: on"
    assert off.stdout.decode().splitlines()[1] == "native kernel: off (BCE_NATIVE=0)"


def test_a_progress_bar_keeps_the_fast_path_and_counts_its_bytes(tmp_path: Path) -> None:
    from bcecli.cli.progress import Progress, _Watched
    from bcecli.io.reader_base import delimited_text
    from bcecli.io.readers import open_reader
    from bcecli.io.sources import make_sources

    path = tmp_path / "p.csv"
    path.write_text("label,prob\n" + "1,0.75\n0,0.25\n" * 1000)
    reader = open_reader(make_sources([str(path)])[0])
    progress = Progress([reader], quiet=True)
    watched = _Watched(reader, 0, progress)
    text = delimited_text(watched)
    assert text is not None and text.column_names == ["label", "prob"]
    blocks = list(text.text_blocks(100))
    assert b"".join(block for block, _ in blocks).count(b"\n") == 2000
    assert progress.through == [path.stat().st_size] and progress.read_here
    reader.close()


@pytest.mark.parametrize(
    "options",
    [
        ("--format", "json"),
        ("--format", "markdown", "-w", "weight", "-p", "prob", "-p", "model_b"),
        ("--format", "json", "--max-loss", "0.1"),  # a failed gate: exit 1
    ],
    ids=" ".join,
)
def test_plain_csv_on_the_kernel_imports_neither_numpy_nor_pyarrow(
    options: tuple[str, ...],
) -> None:
    # Together about 0.1 s of start-up: most of a small file's run.
    from test_cli_score import modules_loaded_by

    status = 1 if "--max-loss" in options else 0
    args = ["score", str(SAMPLE_CSV), *options]
    assert modules_loaded_by(args, ("numpy", "pyarrow", "pandas"), status=status) == []


def test_without_the_kernel_the_same_run_loads_numpy_and_pyarrow() -> None:
    # The check above can fail: the pure-Python path needs both.
    done = bce_process(
        "score",
        SAMPLE_CSV,
        "--format",
        "json",
        env={"BCE_NATIVE": "0", "PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert done.returncode == 0
    imported = done.stderr.decode()
    assert re.search(r"\|\s+numpy$", imported, re.M) and "pyarrow.lib" in imported


# -- bce rows: each row's loss through the kernel, the same bytes out ------------------


def rows_both(bce: Any, monkeypatch: pytest.MonkeyPatch, *args: Any) -> tuple[Any, Any]:
    """``bce rows`` with the kernel, then without it (its losses come from the numpy twin)."""
    fast = bce("rows", *args)
    with monkeypatch.context() as pure:
        pure.setattr(bcecli.core.accumulate, "kernel", None)
        slow = bce("rows", *args)
    return fast, slow


@pytest.mark.parametrize(
    "name",
    sorted(path.name for path in CORPUS.glob("*.csv") if path.is_file()),
)
def test_rows_of_every_corpus_csv_are_the_same_bytes(
    bce: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    fast, slow = rows_both(bce, monkeypatch, CORPUS / name, "--on-invalid", "skip")
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.parametrize("output", ["csv", "parquet"])
def test_rows_of_the_sample_are_the_same_bytes(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, output: str
) -> None:
    for source in (SAMPLE_CSV, SAMPLE / "preds.parquet", CORPUS / "logits.csv"):
        args: list[Any] = [source, "--logit", "logit"]
        if "logits" not in source.name:
            args = [source, "--keep", "id", "-p", "prob", "-p", "model_b", "-w", "weight"]
        if output == "parquet":
            fast_path, slow_path = tmp_path / "fast.parquet", tmp_path / "slow.parquet"
            fast = bce("rows", *args, "-o", fast_path)
            with monkeypatch.context() as pure:
                pure.setattr(bcecli.core.accumulate, "kernel", None)
                slow = bce("rows", *args, "-o", slow_path)
            assert fast.exit_code == slow.exit_code == 0
            import pyarrow.parquet as pq

            assert pq.read_table(fast_path).equals(pq.read_table(slow_path))
        else:
            fast, slow = rows_both(bce, monkeypatch, *args)
            assert fast.exit_code == slow.exit_code == 0 and fast.stdout == slow.stdout


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=csv_files(), weighted=st.booleans())
def test_rows_of_generated_files_are_the_same_bytes(
    bce: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    data: tuple[bytes, int],
    weighted: bool,
) -> None:
    text, chunk_size = data
    path = tmp_path / "generated.csv"
    path.write_bytes(text)
    args: list[Any] = [path, "--on-invalid", "skip", "--chunk-size", chunk_size]
    if weighted:
        args += ["-w", "weight"]
    fast, slow = rows_both(bce, monkeypatch, *args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.parametrize(
    "path",
    [SAMPLE / "preds.csv.gz", CORPUS / "preds.csv.bz2", CORPUS / "preds.csv.zst"],
    ids=lambda path: path.name,
)
def test_compressed_csv_streams_through_the_kernel(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool], path: Path
) -> None:
    fast, slow = both(bce, monkeypatch, "score", path, "--format", "json")
    assert fast.exit_code == slow.exit_code == 0 and fast.stdout == slow.stdout
    assert scanned and all(scanned)


def test_standard_input_streams_through_the_kernel(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool]
) -> None:
    import io
    import sys

    data = SAMPLE_CSV.read_bytes()
    outputs = []
    for kernel_on in (True, False):
        stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)))
        with monkeypatch.context() as patched:
            patched.setattr(sys, "stdin", stdin)
            if not kernel_on:
                patched.setattr(bcecli.scoring.native_csv, "kernel", None)
                patched.setattr(bcecli.core.accumulate, "kernel", None)
            outputs.append(bce("score", "-", "--format", "json", "-w", "weight"))
    fast, slow = outputs
    assert fast.exit_code == slow.exit_code == 0 and fast.stdout == slow.stdout
    assert scanned and all(scanned)
