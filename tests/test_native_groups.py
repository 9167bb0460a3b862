"""The C kernel's CSV fast path with --by, --calibration and --worst, against the general
path: the same report to the byte, whatever the keys, chunking, weights or ties.

Both paths run in this process: ``both`` switches the kernel off where it is looked up
(the fast path and the array kernels), as ``BCE_NATIVE=0`` does for a whole process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli.core.accumulate
import bcecli.scoring.native_csv
from bcecli._native import kernel
from bcecli.core.exact import ExactSum

from conftest import CORPUS, SAMPLE, both, count_kernel_calls

SAMPLE_CSV = SAMPLE / "preds.csv"

pytestmark = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each block the fast path was handed: True where the kernel scored it."""
    return count_kernel_calls(monkeypatch, bcecli.scoring.native_csv, "scan_csv")


def same(fast: Any, slow: Any) -> None:
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


SAMPLE_OPTIONS = [
    ("--by", "segment"),
    (
        "--by",
        "segment",
        "--calibration",
        "10",
        "--worst",
        "5",
        "-p",
        "prob",
        "-p",
        "model_b",
        "-w",
        "weight",
    ),
    ("--by", "segment", "-w", "weight", "--chunk-size", "700"),
    ("--calibration", "7", "--chunk-size", "300"),
    ("--worst", "40", "--chunk-size", "250", "-w", "weight"),
    ("--by", "segment", "--worst", "3", "--calibration", "1", "--eps", "0.2"),
]


@pytest.mark.parametrize("options", SAMPLE_OPTIONS, ids=" ".join)
def test_the_sample_scores_alike_on_both_paths(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool], options: tuple[str, ...]
) -> None:
    fast, slow = both(bce, monkeypatch, "score", SAMPLE_CSV, "--format", "json", *options)
    assert fast.exit_code == 0
    same(fast, slow)
    assert scanned and all(scanned)  # the kernel scored every block


@pytest.mark.parametrize(
    "options",
    [("--calibration", "10", "--worst", "5"), ("--worst", "50", "--chunk-size", "4")],
    ids=" ".join,
)
def test_logits_score_alike_on_both_paths(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool], options: tuple[str, ...]
) -> None:
    args = ("score", CORPUS / "logits.csv", "--logit", "logit", "--format", "json", *options)
    fast, slow = both(bce, monkeypatch, *args)
    assert fast.exit_code == 0
    same(fast, slow)
    assert scanned and all(scanned)


def test_worst_with_keep_stays_on_the_general_path(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool]
) -> None:
    args = ("score", SAMPLE_CSV, "--format", "json", "--worst", "5", "--keep", "id")
    fast, slow = both(bce, monkeypatch, *args)
    same(fast, slow)
    assert not scanned


def test_a_by_column_with_another_role_stays_on_the_general_path(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool]
) -> None:
    fast, slow = both(bce, monkeypatch, "score", SAMPLE_CSV, "--format", "json", "--by", "label")
    same(fast, slow)
    assert not scanned


def test_too_many_keys_in_a_block_go_to_the_general_parser(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scanned: list[bool]
) -> None:
    # Blocks are at least 1 MiB: 5000 keys in the first block, 3 afterwards.
    lines = ["label,prob,key"]
    lines += [f"{i % 2},0.{i % 7 + 1},k{i % 5000 if i < 6000 else i % 3}" for i in range(300_000)]
    path = tmp_path / "keys.csv"
    path.write_text("\n".join(lines) + "\n")
    args = ("score", path, "--format", "json", "--by", "key", "--worst", "4")
    fast, slow = both(bce, monkeypatch, *args)
    assert fast.exit_code == 0
    same(fast, slow)
    assert False in scanned and True in scanned  # the block of 5000 keys declined


def test_many_blocks_with_random_keys_score_alike(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scanned: list[bool]
) -> None:
    import random

    chooser = random.Random(7)
    keys = ["", "a", "b b", "é", "日本", *(f"k{i}" for i in range(300))]
    lines = ["id,label,prob,weight,seg,region"]
    for i in range(200_000):
        p = chooser.choice(["0.5", "0.25", "1", "0", repr(chooser.random())])
        lines.append(
            f"{i},{chooser.randint(0, 1)},{p},{chooser.choice(['1', '0.5', '2'])},"
            f"{chooser.choice(keys)},{chooser.choice(['n', 's', ''])}"
        )
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    args = (
        "score",
        path,
        "--format",
        "json",
        "--by",
        "seg",
        "--by",
        "region",
        "-w",
        "weight",
        "--calibration",
        "10",
        "--worst",
        "25",
    )
    fast, slow = both(bce, monkeypatch, *args)
    assert fast.exit_code == 0
    same(fast, slow)
    assert len(scanned) > 1 and all(scanned)


def test_keys_that_are_not_utf8_fail_alike(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scanned: list[bool]
) -> None:
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"label,prob,key\n1,0.5,a\n0,0.25,\xff\xfe\n")
    fast, slow = both(bce, monkeypatch, "score", path, "--format", "json", "--by", "key")
    same(fast, slow)
    assert scanned == [False]


def test_ties_among_the_worst_rows_keep_the_first_rows(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scanned: list[bool]
) -> None:
    # Every row but the last has the same loss, over several blocks with blank lines.
    path = tmp_path / "ties.csv"
    path.write_text("label,prob\n" + "1,0.25\n0,0.75\n\n" * 200_000 + "1,0.125\n")
    args = ("score", path, "--format", "json", "--worst", "9")
    fast, slow = both(bce, monkeypatch, *args)
    same(fast, slow)
    rows = [entry["row"] for entry in fast.json()["worst"]]
    assert rows == [400_001, *range(1, 9)]  # blank lines are not rows
    assert len(scanned) > 1 and all(scanned)


def test_the_kernel_returns_keys_bins_and_block_rows() -> None:
    assert kernel is not None
    block = b"1,0.25,a\n\n0,0.75,\n1,0.5,a\n0,1,b c\n"
    result = kernel.scan_csv(block, ord(","), 3, 0, [1], -1, False, 1e-15, [2], 4, 2)
    rows, groups, keys, bins, worst, histogram = result
    assert histogram is None  # no edges handed in
    assert rows == 4
    assert keys == [("a",), (None,), ("b c",)]
    assert [group[0] for group in groups] == [2, 1, 1]
    assert bins[0] == [0, 1, 1, 2]  # 0.25 falls in [0.25, 0.5): edges are i / 4
    assert sorted((-loss, row) for loss, row, _, _ in worst)[0][1] == 3  # p = 1, y = 0
    assert kernel.scan_csv(block, ord(","), 3, 0, [1], -1, False, 1e-15) is not None
    # A field in two roles is read as each: here the prediction is also the group key
    # (the fast path itself leaves such runs to the general path, see fast_text).
    by_prob = kernel.scan_csv(block, ord(","), 3, 0, [1], -1, False, 1e-15, [1])
    assert by_prob[2] == [("0.25",), ("0.75",), ("0.5",), ("1",)]


def test_the_kernel_bins_every_column_by_its_own_p() -> None:
    assert kernel is not None
    block = b"1,0.25,0.9\n0,0.75,0.1\n1,0.5,0.6\n"
    rows, _, _, bins, _, _ = kernel.scan_csv(block, ord(","), 3, 0, [1, 2], -1, False, 1e-15, [], 4)
    bin_rows, positive_rows, weight, prob, positives = bins
    assert bin_rows == [0, 1, 1, 1] + [1, 0, 1, 1]  # column 1's four bins, then column 2's
    assert positive_rows == [0, 1, 1, 0] + [0, 0, 1, 1]
    assert weight is None and positives is None  # unweighted: counts
    assert [float(ExactSum(*item)) for item in prob] == [0, 0.25, 0.5, 0.75, 0.1, 0, 0.6, 0.9]
    # Past the kernel's bound on bins times columns, it refuses.
    with pytest.raises(ValueError, match="bins"):
        kernel.scan_csv(block, ord(","), 3, 0, [1, 2, 1, 2, 1], -1, False, 1e-15, [], 1000)


def test_more_bins_times_columns_than_the_kernel_holds_stays_on_the_general_path(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scanned: list[bool], tmp_path: Path
) -> None:
    args = ("score", SAMPLE_CSV, "--format", "json", "--calibration", "1024")
    fast, slow = both(bce, monkeypatch, *args, "-p", "prob", "-p", "model_b")
    same(fast, slow)
    assert scanned and all(scanned)  # 2 x 1024 cells: within the bound
    scanned.clear()
    # Five columns (copies of the two) of 1000 bins each: past it.
    lines = SAMPLE_CSV.read_text(encoding="utf-8").splitlines()
    wide = [lines[0] + ",b2,b3,p2"]
    for line in lines[1:]:
        fields = line.split(",")
        wide.append(line + f",{fields[4]},{fields[4]},{fields[2]}")
    source = tmp_path / "wide.csv"
    source.write_text("\n".join(wide) + "\n", encoding="utf-8")
    columns = ("-p", "prob", "-p", "model_b", "-p", "b2", "-p", "b3", "-p", "p2")
    args = ("score", source, "--format", "json", "--calibration", "1000", *columns)
    fast, slow = both(bce, monkeypatch, *args)
    same(fast, slow)
    assert not scanned
    by_model = json.loads(fast.stdout)["calibration_by_model"]
    assert [entry["column"] for entry in by_model] == ["prob", "model_b", "b2", "b3", "p2"]
    assert by_model[0]["bins"] == by_model[4]["bins"]


# -- generated files: keys, chunking, weights, calibration, worst rows -----------------

KEYS = st.one_of(
    st.sampled_from(["", "a", "b", " a", "a ", "A", "1", "1.0", "é", "日本", "a b", "NULL"]),
    st.text(
        st.characters(blacklist_characters=',"\r\n', blacklist_categories=("Cs",)),
        max_size=6,
    ),
)
PROBABILITIES = st.one_of(
    st.floats(0.0, 1.0).map(repr),
    st.sampled_from(["0", "1", "0.5", "0.1", "0.30000000000000004", "0.7", "1e-300"]),
)


@st.composite
def grouped_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """A small CSV of label, prob, model_b, weight, seg, region; and a chunk size."""
    rows = draw(st.integers(1, 80))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    distinct = draw(st.integers(1, 40))
    pool = draw(st.lists(KEYS, min_size=distinct, max_size=distinct))
    lines = ["label,prob,model_b,weight,seg,region"]
    for _ in range(rows):
        label = draw(st.sampled_from(["0", "1", "1.0"]))
        prob = draw(PROBABILITIES)
        if draw(st.integers(0, 30)) == 0:
            prob = draw(st.sampled_from(["", "2", "abc"]))  # a block the kernel declines
        model_b = draw(PROBABILITIES)
        weight = draw(st.sampled_from(["1", "0.5", "2e3", "0", "3.25"]))
        seg = draw(st.sampled_from(pool))
        region = draw(st.sampled_from(["n", "s", ""]))
        lines.append(f"{label},{prob},{model_b},{weight},{seg},{region}")
        if draw(st.integers(0, 20)) == 0:
            lines.append("")
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return text.encode(), draw(st.sampled_from([1, 3, 17, 100_000]))


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=grouped_files(),
    by=st.sampled_from([(), ("seg",), ("seg", "region"), ("region", "seg")]),
    calibration=st.sampled_from([None, 1, 3, 10]),
    worst=st.sampled_from([0, 1, 4, 30]),
    weighted=st.booleans(),
    two_models=st.booleans(),
    skip=st.booleans(),
)
def test_generated_files_score_alike(
    bce: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    data: tuple[bytes, int],
    by: tuple[str, ...],
    calibration: int | None,
    worst: int,
    weighted: bool,
    two_models: bool,
    skip: bool,
) -> None:
    text, chunk_size = data
    path = tmp_path / "generated.csv"
    path.write_bytes(text)
    args: list[Any] = ["score", path, "--format", "json", "--chunk-size", chunk_size]
    for name in by:
        args += ["--by", name]
    if calibration:
        args += ["--calibration", calibration]
    if worst:
        args += ["--worst", worst]
    if weighted:
        args += ["-w", "weight"]
    if two_models:
        args += ["-p", "prob", "-p", "model_b"]
    if skip:
        args += ["--on-invalid", "skip"]
    fast, slow = both(bce, monkeypatch, *args)
    same(fast, slow)
