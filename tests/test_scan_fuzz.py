"""The CSV scanner (bcecli/_native/bce_scan.c) under fuzzing.

libFuzzer with ASan and UBSan runs tools/fuzz_scan.c, which checks every block the
scanner accepts against a plain reference in C. Hypothesis writes arbitrary bytes,
biased toward CSV's alphabet, after a header and runs the CLI in this process with the
kernel and without it: the exit code, the report and the messages must be the same.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli.scoring.passes
from bcecli._native import kernel

from conftest import both

TOOLS = Path(__file__).resolve().parent.parent / "tools"

HEADER = b"label,prob,w\n"


def test_scan_fuzzer_briefly() -> None:
    """tools/fuzz.py --target scan: libFuzzer with ASan and UBSan, for a few seconds."""
    if shutil.which("clang") is None:
        pytest.skip("no clang: the fuzzer needs libFuzzer")
    result = subprocess.run(
        [sys.executable, str(TOOLS / "fuzz.py"), "10", "--target", "scan"],
        capture_output=True,
        text=True,
    )
    if result.returncode == 77:
        pytest.skip(result.stderr[-500:])
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


# -- arbitrary bytes through the CLI, with the kernel and without -----------------------

CSV_ALPHABET = '0123456789.e-+,\n\r" EabnifxyzT'
LABELS = st.sampled_from([b"0", b"1", b"1.0", b"0.0", b"1e0", b"+1", b"-0", b"0e5", b"00"])
NUMBERS = st.one_of(
    st.sampled_from([b"0", b"1", b"0.5", b".5", b"1.", b"1e-3", b"-0", b"+0.25", b"5E-1"]),
    st.floats(0.0, 1.0).map(lambda p: repr(p).encode()),
    st.floats(0.0, 1.0).map(lambda p: f"{p:.25f}".encode()),
)
ODD = st.one_of(
    st.sampled_from(
        [b"2", b"-0.1", b"1e400", b"nan", b"inf", b"", b" 1", b"0x1", b"true", b"1E0", b"1 "]
        + [b"0.99999999999999999999999", b"1.00000000000000000001", b"5e-324", b"1e-400"]
        + [b'"0.5"', b"0.5\r", b"\xff", b"\x00", b"1;0", b"\t1"]
    ),
    st.text(CSV_ALPHABET, max_size=6).map(str.encode),
    st.binary(max_size=3),
)
SEPARATORS = st.sampled_from([b";", b"\t", b'"', b" ", b"", b",,", b"\r"])
LINE_ENDS = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r", b"\n\n", b"\n\r\n", b"\r\r\n"])


@st.composite
def rows(draw: st.DrawFn) -> bytes:
    """Lines of label, prob, weight, mostly valid: here and there an odd value, field
    count, separator or line end."""
    odds = draw(st.sampled_from([0, 2, 10, 50]))  # percent of odd picks

    def odd() -> bool:
        return draw(st.integers(0, 99)) < odds

    out = []
    for _ in range(draw(st.integers(0, 12))):
        fields = [
            draw(ODD if odd() else LABELS),
            draw(ODD if odd() else NUMBERS),
            draw(ODD if odd() else NUMBERS),
        ]
        if odd():
            fields = fields[: draw(st.integers(0, 3))] + draw(st.lists(ODD, max_size=2))
        line = b""
        for index, field in enumerate(fields):
            line += (draw(SEPARATORS) if odd() else b",") if index else b""
            line += field
        out.append(line + (draw(LINE_ENDS) if odd() else b"\n"))
    text = b"".join(out)
    if out and draw(st.booleans()):
        text = text.rstrip(b"\r\n")  # the last line without its end
    return text


BODIES = st.one_of(
    rows(),
    rows(),
    st.text(CSV_ALPHABET, max_size=80).map(str.encode),
    st.binary(max_size=60),
)


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
@settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=BODIES,
    weight=st.sampled_from([None, None, "w", "w", "prob", "label"]),
    skip=st.booleans(),
    chunk_size=st.sampled_from([1, 2, 5, 100, 100_000]),
)
def test_arbitrary_bytes_give_the_same_outcome_on_both_paths(
    bce: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    body: bytes,
    weight: str | None,
    skip: bool,
    chunk_size: int,
) -> None:
    """-w w mostly; -w prob and -w label put one field in two roles."""
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(HEADER + body)
    args: list[Any] = ["score", path, "--format", "json", "--chunk-size", chunk_size]
    if weight is not None:
        args += ["-w", weight]
    if skip:
        args += ["--on-invalid", "skip"]
    fast, slow = both(bce, monkeypatch, *args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def _all_read_first(function: Any, items: Any, **options: Any) -> Any:
    """ordered_map as if reading ran ahead of every worker: all items pulled first."""
    return map(function, list(items))


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
def test_an_invalid_label_before_the_rule_settles_is_named_alike_however_far_reading_ran(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by the test above: a chunk of invalid labels handed to a worker before the
    label rule settled was named under whatever rule later chunks, learnt meanwhile on
    the reading thread, had settled by the time the worker converted it. The message
    changed from run to run on the general path; it is the rule as of the chunk now."""
    path = tmp_path / "late_rule.csv"
    path.write_bytes(HEADER + b"a y6n2,0.5,1\n0,0.5,1\n1,0.25,1\n")
    args = ["score", path, "--format", "json", "--chunk-size", "1"]
    inline = bce(*args)
    monkeypatch.setattr(bcecli.scoring.passes, "ordered_map", _all_read_first)
    fast, ahead = both(bce, monkeypatch, *args)
    assert inline.exit_code == fast.exit_code == ahead.exit_code == 2
    assert inline.stderr == fast.stderr == ahead.stderr
    assert "row 1: label = 'a y6n2' is not 0 or 1, nor true or false" in ahead.stderr


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
def test_a_later_block_that_does_not_parse_does_not_overtake_an_earlier_invalid_row(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by the test above: the last line, without its line end, is a block of its
    own; on the general path its parse error (row 2) was raised while the chunk before
    it, with an invalid row 1, was still on a worker. The first invalid row in order is
    named now, on both paths, as one worker names it."""
    path = tmp_path / "late_parse_error.csv"
    path.write_bytes(HEADER + b"\n\n\n0,2,2\n\n0")
    fast, slow = both(bce, monkeypatch, "score", path, "--chunk-size", "1")
    assert (fast.exit_code, fast.stderr) == (slow.exit_code, slow.stderr)
    assert "row 1: prob = 2.0 is outside [0, 1]" in slow.stderr


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
@pytest.mark.parametrize(
    ("body", "options"),
    [
        (b"1,0.5,1\n0,0.25,2\n", ("-p", "prob", "-w", "prob")),
        (b"1,0.5,1\n0,0.25,2\n", ("-w", "label")),
        (b"0.5,0.5,1\n0,0.25,2\n", ("-w", "label")),
        (b"1,0.5,1\n0,2,2\n", ("-p", "prob", "-w", "prob")),
    ],
    ids=["weight-is-prediction", "weight-is-label", "weight-is-invalid-label", "weight-2"],
)
def test_a_column_in_two_roles_scores_alike_on_both_paths(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: bytes, options: tuple[str, ...]
) -> None:
    """Found by tools/fuzz_scan.c: the scanner gave each field one role, so with -w prob
    the prediction's role hid the weight's (every weight 1) and with -w label the
    weight's hid the label's (a label 0.5 scored, unchecked). Each role reads it now."""
    path = tmp_path / "two_roles.csv"
    path.write_bytes(HEADER + body)
    fast, slow = both(bce, monkeypatch, "score", path, "--format", "json", *options)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
def test_the_kernel_reads_one_field_as_weight_and_prediction() -> None:
    assert kernel is not None
    block = b"1,0.5,1\n0,0.25,2\n"
    weighted = kernel.scan_csv(block, ord(","), 3, 0, [1], 1, False, 1e-15)
    assert weighted is not None and weighted[0] == 2
    by_prob = kernel.scan_csv(b"1,0.5,0.5\n0,0.25,0.25\n", ord(","), 3, 0, [1], 2, False, 1e-15)
    assert weighted[1] == by_prob[1]  # the same sums as a weight column holding the probs
    assert kernel.scan_csv(b"0.5,0.5,1\n", ord(","), 3, 0, [1], 0, False, 1e-15) is None
