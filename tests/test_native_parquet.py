"""The C kernel's Parquet fast path against the general path: the same report to the
byte, the same errors and row numbers, whatever the column types, nulls, invalid
values, row groups and chunk sizes.

Both paths run in this process: ``both`` switches the kernel off where it is looked up
(the fast path and the array kernels), as ``BCE_NATIVE=0`` does for a whole process.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli.core.accumulate
import bcecli.scoring.native_arrow
from bcecli._native import kernel
from bcecli.core.batch import InputRef
from bcecli.core.state import ScoreState
from bcecli.io.columns import Columns
from bcecli.io.readers import Chunk
from bcecli.scoring.batches import ChunkValidator
from bcecli.scoring.native_arrow import arrow_sums
from bcecli.scoring.passes import score_chunk
from bcecli.scoring.settings import Settings

from conftest import SAMPLE, both, count_kernel_calls

SAMPLE_PARQUET = SAMPLE / "preds.parquet"

pytestmark = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each chunk the fast path handed the kernel: True where the kernel scored it."""
    return count_kernel_calls(monkeypatch, bcecli.scoring.native_arrow, "arrow_sums")


def outcome(run: Any) -> tuple[int, str, str]:
    return run.exit_code, run.stdout, run.stderr


OPTIONS = [
    (),
    ("-w", "weight"),
    ("-p", "prob", "-p", "model_b"),
    ("-p", "prob", "-p", "model_b", "-w", "weight", "--chunk-size", "700"),
    ("--chunk-size", "1"),
    ("--chunk-size", "3333"),
    ("--eps", "0.01"),
]


@pytest.mark.parametrize("options", OPTIONS, ids=" ".join)
def test_the_sample_scores_alike_on_both_paths(
    bce: Any, monkeypatch: pytest.MonkeyPatch, scored: list[bool], options: tuple[str, ...]
) -> None:
    fast, slow = both(bce, monkeypatch, "score", SAMPLE_PARQUET, "--format", "json", *options)
    assert fast.exit_code == slow.exit_code == 0
    assert fast.stdout == slow.stdout
    assert scored and all(scored)  # the kernel scored every chunk


def test_logits_score_alike(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scored: list[bool]
) -> None:
    rng = np.random.default_rng(7)
    n = 5000
    table = pa.table(
        {
            "label": pa.array(rng.integers(0, 2, n), pa.int8()),
            "z": rng.normal(0, 4, n),
            "z2": pa.array(rng.normal(0, 40, n), pa.float32()),
            "weight": rng.uniform(0, 3, n),
        }
    )
    path = tmp_path / "logits.parquet"
    pq.write_table(table, path, row_group_size=1200)
    for extra in ((), ("-w", "weight"), ("--chunk-size", "500")):
        args = ("score", path, "--logit", "z", "--logit", "z2", "--format", "json", *extra)
        fast, slow = both(bce, monkeypatch, *args)
        assert fast.exit_code == slow.exit_code == 0
        assert fast.stdout == slow.stdout
    assert scored and all(scored)


def test_an_invalid_row_is_named_as_the_general_path_names_it(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scored: list[bool]
) -> None:
    n = 200_000
    prob = np.linspace(0.01, 0.99, n)
    prob[150_000] = 1.5
    table = pa.table({"label": np.arange(n) % 2, "prob": prob})
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path, row_group_size=30_000)
    fast, slow = both(bce, monkeypatch, "score", path, "--chunk-size", "20000")
    assert fast.exit_code == slow.exit_code == 2
    assert fast.stderr == slow.stderr
    assert "row 150001" in fast.stderr and "1.5" in fast.stderr
    assert True in scored and False in scored  # kernel chunks, then the general path
    skip = ("score", path, "--chunk-size", "20000", "--on-invalid", "skip", "--format", "json")
    fast, slow = both(bce, monkeypatch, *skip)
    assert outcome(fast) == outcome(slow)
    assert fast.exit_code == 0


def test_labels_the_kernel_does_not_read_go_the_general_way(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scored: list[bool]
) -> None:
    labels = [True, False] * 50
    path = tmp_path / "booleans.parquet"
    pq.write_table(pa.table({"label": labels, "prob": [0.25, 0.5] * 50}), path)
    fast, slow = both(bce, monkeypatch, "score", path, "--format", "json")
    assert outcome(fast) == outcome(slow)
    assert fast.exit_code == 0
    assert not scored  # declined from the schema: no chunk reached the kernel


def test_a_dataset_whose_files_change_rule_errs_as_the_general_path(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"label": [True, False], "prob": [0.5, 0.25]}), folder / "a.parquet")
    pq.write_table(pa.table({"label": [1, 0], "prob": [0.5, 0.25]}), folder / "b.parquet")
    fast, slow = both(bce, monkeypatch, "score", folder, "--format", "json")
    assert outcome(fast) == outcome(slow)
    assert fast.exit_code == 2
    # The other way round: 0/1 first, then booleans.
    (folder / "a.parquet").rename(folder / "c.parquet")
    fast, slow = both(bce, monkeypatch, "score", folder, "--format", "json")
    assert outcome(fast) == outcome(slow)
    assert fast.exit_code == 2


def test_a_hive_dataset_scores_alike(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scored: list[bool]
) -> None:
    folder = tmp_path / "hive"
    for day in ("1", "2"):
        (folder / f"day={day}").mkdir(parents=True)
        table = pa.table({"label": [1, 0, 1] * 40, "prob": [0.75, 0.5, 0.125] * 40})
        pq.write_table(table, folder / f"day={day}" / "part.parquet", row_group_size=50)
    fast, slow = both(bce, monkeypatch, "score", folder, "--format", "json")
    assert fast.exit_code == slow.exit_code == 0
    assert fast.stdout == slow.stdout
    assert scored and all(scored)


# -- generated files: label types, nulls, NaN, out-of-range values, row groups ---------

LABEL_TYPES = ["int64", "int8", "uint8", "int32", "bool", "float64", "dictionary", "string"]
GOOD_PROBS = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 1.0, -0.0, 5e-324, 1e-17, 1 - 1e-16, 0.5]),
)
ODD_PROBS = st.one_of(st.none(), st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 1.5, 1e300]))


def _labels(values: list[int | None], kind: str) -> pa.Array:
    if kind == "bool":
        return pa.array([None if v is None else bool(v % 2) for v in values], pa.bool_())
    if kind == "string":
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if kind == "dictionary":
        return pa.array([None if v is None else str(v) for v in values]).dictionary_encode()
    if kind == "float64":
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(values, getattr(pa, kind)())


@st.composite
def parquet_tables(draw: st.DrawFn) -> tuple[pa.Table, int, int]:
    """A small table of label, prob, weight; a row group size and a chunk size."""
    rows = draw(st.integers(1, 80))
    kind = draw(st.sampled_from(LABEL_TYPES))
    odd = draw(st.booleans())
    label_values = st.one_of(st.sampled_from([0, 1]), st.sampled_from([None, 2, 3]))
    # The first label is valid: the general path's wording of a label outside the rule
    # before any label settled it depends on which thread converts first.
    labels = [0 if rows % 2 else 1] + [
        draw(label_values if odd else st.sampled_from([0, 1])) for _ in range(rows - 1)
    ]
    probs = [draw(st.one_of(GOOD_PROBS, ODD_PROBS) if odd else GOOD_PROBS) for _ in range(rows)]
    weights = [draw(st.sampled_from([1.0, 0.5, 2e3, 0.0, 3.25])) for _ in range(rows)]
    prob_type = draw(st.sampled_from([pa.float64(), pa.float32()]))
    table = pa.table(
        {
            "label": _labels(labels, kind),
            "prob": pa.array(probs, pa.float64()).cast(prob_type, safe=False),
            "weight": pa.array(weights, pa.float64()),
        }
    )
    return table, draw(st.sampled_from([1, 7, 50, 1000])), draw(st.sampled_from([1, 3, 17, 1000]))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=parquet_tables(), weighted=st.booleans(), skip=st.booleans())
def test_generated_files_score_alike(
    bce: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    data: tuple[pa.Table, int, int],
    weighted: bool,
    skip: bool,
) -> None:
    table, row_group_size, chunk_size = data
    path = tmp_path / "generated.parquet"
    pq.write_table(table, path, row_group_size=row_group_size)
    args: list[Any] = ["score", path, "--format", "json", "--chunk-size", chunk_size]
    if weighted:
        args += ["-w", "weight"]
    if skip:
        args += ["--on-invalid", "skip"]
    fast, slow = both(bce, monkeypatch, *args)
    assert outcome(fast) == outcome(slow)


# -- the kernel on Arrow arrays: slices with offsets, chunked columns -------------------

COLUMNS = Columns(label="label", predictions=("prob",), weight="weight")


def _general_sums(table: pa.Table, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The population's sums of a chunk by the general path, the kernel off."""
    settings_ = Settings()
    validator = ChunkValidator(COLUMNS, settings_)
    chunk = Chunk("t.parquet", 1, table)
    with monkeypatch.context() as pure:
        pure.setattr(bcecli.core.accumulate, "kernel", None)
        result = score_chunk(
            chunk, validator=validator, ref=InputRef(0, "t.parquet", "parquet"), settings=settings_
        )
    assert result.state is not None
    state: ScoreState = result.state
    sums: dict[str, Any] = state.to_state()["total"]
    return sums


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    labels=st.lists(st.sampled_from([0, 1]), min_size=1, max_size=60),
    data=st.data(),
)
def test_slices_and_chunked_columns_score_as_whole_arrays(
    monkeypatch: pytest.MonkeyPatch, labels: list[int], data: st.DataObject
) -> None:
    n = len(labels)
    probs = data.draw(st.lists(GOOD_PROBS, min_size=n + 10, max_size=n + 10))
    weights = data.draw(st.lists(st.floats(0, 1e6), min_size=n + 10, max_size=n + 10))
    start = data.draw(st.integers(0, 10))
    label_kind = data.draw(st.sampled_from(["int64", "int8", "uint16", "float64", "float32"]))
    label_array = pa.array([0] * start + labels + [1] * (10 - start), getattr(pa, label_kind)())
    table = pa.table(
        {
            "label": label_array.slice(start, n),
            "prob": pa.array(probs).slice(start, n),
            "weight": pa.array(weights).slice(start, n),
        }
    )
    cut = data.draw(st.integers(0, n))
    chunked = pa.table(
        {
            name: pa.chunked_array([array.slice(0, cut), array.slice(cut)])
            for name, array in ((name, table.column(name).chunk(0)) for name in table.column_names)
        }
    )
    expected = _general_sums(table, monkeypatch)
    for each in (table, chunked):
        scored = arrow_sums(each, COLUMNS, Settings())
        assert scored is not None
        assert scored[0].to_state() == expected


def test_the_kernel_declines_what_it_does_not_read() -> None:
    good = {"label": pa.array([1, 0]), "prob": pa.array([0.5, 0.25]), "weight": [1.0, 2.0]}
    assert arrow_sums(pa.table(good), COLUMNS, Settings()) is not None
    for name, values in [
        ("label", pa.array([1, None])),
        ("label", pa.array([1, 2])),
        ("label", pa.array([1.0, math.nan])),
        ("label", pa.array([True, False])),
        ("label", pa.array(["1", "0"])),
        ("prob", pa.array([0.5, None])),
        ("prob", pa.array([0.5, math.nan])),
        ("prob", pa.array([0.5, 1.0000000000000002])),
        ("prob", pa.array([1, 0])),
        ("weight", pa.array([1.0, -1.0])),
        ("weight", pa.array([1.0, math.inf])),
    ]:
        table = pa.table({**good, name: values})
        assert arrow_sums(table, COLUMNS, Settings()) is None, (name, values)


def test_the_kernel_rejects_short_buffers() -> None:
    assert kernel is not None
    values = pa.array([0.5, 0.25])
    labels = pa.array([1, 0])
    with pytest.raises(ValueError):
        kernel.arrow_sums(
            ("q", labels.buffers()[1], 1), [("d", values.buffers()[1], 0)], None, 2, False, 1e-15
        )
    with pytest.raises(ValueError):
        kernel.arrow_sums(
            ("x", labels.buffers()[1], 0), [("d", values.buffers()[1], 0)], None, 2, False, 1e-15
        )
