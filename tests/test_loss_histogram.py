"""The loss histogram: fixed log-spaced bins of each column's per-row loss, kept exactly,
filled alike by numpy and the C kernel's fast paths, and merged like every other state."""

from __future__ import annotations

import bisect
import csv
import importlib
import io
import json
import math
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcecli._native import kernel
from bcecli.core.accumulate import ChunkLosses
from bcecli.core.batch import Batch, InputRef, StateConfig
from bcecli.core.exact import ExactSum
from bcecli.core.loss import loss_from_prob
from bcecli.core.loss_histogram import (
    BINS,
    EDGES,
    EDGES_BUFFER,
    LossHistogramSums,
    bin_ids,
)
from bcecli.core.state import ScoreState
from bcecli.engines.local import score_readers
from bcecli.io.columns import ColumnSpec
from bcecli.io.readers import open_reader
from bcecli.io.sources import make_sources
from bcecli.scoring.settings import Settings

from conftest import KERNEL_USERS

REF = InputRef(0, "x.csv", "csv")


def oracle_bin(loss: float) -> int:
    """Python's bisect over the same edges: the edges at or below the loss."""
    return len(EDGES) if math.isnan(loss) else bisect.bisect_right(EDGES, loss)


def oracle(losses: list[list[float]], weights: list[float] | None) -> list[dict[str, Any]]:
    """Per model, rows and the exact weight (a Fraction) per bin."""
    result = []
    for column in losses:
        rows = [0] * BINS
        weight = [Fraction(0)] * BINS
        for index, loss in enumerate(column):
            where = oracle_bin(loss)
            rows[where] += 1
            weight[where] += Fraction(1 if weights is None else weights[index])
        result.append({"rows": rows, "weight": weight})
    return result


def as_oracle(histogram: LossHistogramSums) -> list[dict[str, Any]]:
    return [
        {"rows": model.rows, "weight": [total.fraction() for total in model.weight]}
        for model in histogram.models
    ]


def batch_of(losses: list[list[float]], weights: list[float] | None) -> Batch:
    n = len(losses[0])
    values = ChunkLosses(
        y=np.ones(n, dtype=bool),
        probs=[np.full(n, 0.5) for _ in losses],
        losses=[np.array(column, dtype=np.float64) for column in losses],
        weight=None if weights is None else np.array(weights, dtype=np.float64),
    )
    return Batch(values=values, input=REF, path=REF.path, first_row=1, read=n)


def histogram_of(losses: list[list[float]], weights: list[float] | None) -> LossHistogramSums:
    histogram = LossHistogramSums.create(StateConfig(n_models=len(losses)))
    assert histogram is not None
    histogram.update(batch_of(losses, weights))
    return histogram


# -- the edges and the bins ------------------------------------------------------------


def test_the_edges_are_the_nearest_floats_to_ten_to_the_k_over_8() -> None:
    assert len(EDGES) == 65 and BINS == 66
    with localcontext() as context:
        context.prec = 60
        for k, edge in zip(range(-48, 17), EDGES, strict=True):
            assert edge == float(Decimal(10) ** (Decimal(k) / Decimal(8))), k
    assert EDGES[0] == 1e-6 and EDGES[-1] == 100.0 and EDGES[48] == 1.0
    assert list(EDGES) == sorted(set(EDGES))
    assert np.frombuffer(EDGES_BUFFER, dtype=np.float64).tolist() == list(EDGES)
    # A clipped probability's largest loss lands below the overflow bin.
    assert bin_ids(loss_from_prob(np.array([False]), np.array([1.0])))[0] < BINS - 1


def awkward_losses() -> list[float]:
    """Every edge, its neighbours one ulp away, the ends and a few specials."""
    values = [0.0, -0.0, 5e-324, 1e-300, 36.04365338911715, 1e300, math.inf, math.nan]
    for edge in EDGES:
        values += [math.nextafter(edge, 0.0), edge, math.nextafter(edge, math.inf)]
    return values


def test_a_loss_falls_where_bisect_puts_it() -> None:
    values = awkward_losses()
    numpy_bins = bin_ids(np.array(values)).tolist()
    for value, by_numpy in zip(values, numpy_bins, strict=True):
        assert oracle_bin(value) == by_numpy, value
    ends = bin_ids(np.array([0.0, 1e-6, math.nextafter(100.0, 0.0), 100.0])).tolist()
    assert ends == [0, 1, BINS - 2, BINS - 1]


@given(st.floats(min_value=0.0, allow_nan=False))
def test_any_loss_falls_where_bisect_puts_it(loss: float) -> None:
    assert oracle_bin(loss) == int(bin_ids(np.array([loss]))[0])


@pytest.mark.skipif(kernel is None, reason="the C kernel is not built")
@settings(deadline=None)
@given(st.lists(st.floats(min_value=0.0), max_size=50))
def test_the_kernel_bins_every_loss_as_bisect_does(losses: list[float]) -> None:
    assert kernel is not None
    values = awkward_losses() + losses
    by_kernel = kernel.hist_bins(EDGES_BUFFER, np.array(values))
    assert by_kernel == [oracle_bin(value) for value in values]


# -- the accumulator ------------------------------------------------------------------

LOSSES = st.one_of(
    st.floats(min_value=0.0, max_value=200.0),
    st.sampled_from([math.nextafter(edge, 0.0) for edge in EDGES] + list(EDGES)),
)
WEIGHTS = st.floats(min_value=0.0, max_value=1e6)


@st.composite
def rows(draw: Any) -> tuple[list[list[float]], list[float] | None]:
    n_models = draw(st.integers(1, 3))
    n = draw(st.integers(1, 60))
    losses = [draw(st.lists(LOSSES, min_size=n, max_size=n)) for _ in range(n_models)]
    weighted = draw(st.booleans())
    weights = draw(st.lists(WEIGHTS, min_size=n, max_size=n)) if weighted else None
    return losses, weights


@settings(max_examples=60, deadline=None)
@given(rows())
def test_the_accumulator_matches_the_oracle(data: Any) -> None:
    losses, weights = data
    assert as_oracle(histogram_of(losses, weights)) == oracle(losses, weights)


@settings(max_examples=60, deadline=None)
@given(rows(), st.data())
def test_any_split_and_merge_order_gives_the_same_state(data: Any, draw: Any) -> None:
    losses, weights = data
    n = len(losses[0])
    cuts = sorted(draw.draw(st.lists(st.integers(0, n), max_size=4)))
    bounds = [0, *cuts, n]
    parts = [
        histogram_of([column[a:b] for column in losses], None if weights is None else weights[a:b])
        for a, b in zip(bounds, bounds[1:])
        if b > a
    ]
    merged = histogram_of([[] for _ in losses], weights and [])
    for part in draw.draw(st.permutations(parts)):
        merged.merge(part)
    whole = histogram_of(losses, weights)
    assert merged.to_state() == whole.to_state()
    through_json = LossHistogramSums.from_state(json.loads(json.dumps(merged.to_state())))
    assert through_json.to_state() == whole.to_state()


def test_the_state_carries_the_histogram_through_json() -> None:
    state = ScoreState(StateConfig(n_models=2))
    state.open_input(REF)
    state.update(batch_of([[0.5, 3.0, 200.0], [1e-9, 0.5, 0.5]], [1.0, 0.25, 2.0]))
    back = ScoreState.from_state(json.loads(json.dumps(state.to_state())))
    assert back.loss_histogram.to_state() == state.loss_histogram.to_state()
    assert back.loss_histogram.models[0].rows[BINS - 1] == 1
    assert back.loss_histogram.models[1].weight[0] == ExactSum.from_int(1)


def test_a_state_of_the_wrong_size_is_refused() -> None:
    state = histogram_of([[0.5]], None).to_state()
    state["models"][0]["rows"].pop()
    with pytest.raises(ValueError):
        LossHistogramSums.from_state(state)


# -- the kernel fills the same bins ---------------------------------------------------

needs_kernel = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")


def edge_probabilities() -> list[float]:
    """Probabilities whose loss (y = 1) is at or next to an edge."""
    probs = []
    for edge in EDGES:
        p = math.exp(-edge)
        if 0.0 < p < 1.0:
            probs += [math.nextafter(p, 0.0), p, math.nextafter(p, 1.0)]
    return probs


@needs_kernel
def test_the_kernel_bins_losses_next_to_the_edges_as_numpy_does() -> None:
    assert kernel is not None
    probs = edge_probabilities()
    y = np.ones(len(probs), dtype=bool)
    losses = loss_from_prob(y, np.array(probs)).tolist()
    expected = oracle([losses], None)
    on_an_edge = sum(loss in EDGES for loss in losses)
    assert on_an_edge > 0  # some land on an edge exactly: the comparison matters
    block = "".join(f"1,{p!r}\n" for p in probs).encode()
    result = kernel.scan_csv(block, ord(","), 2, 0, [1], -1, False, 2.0**-52, None, 0, 0,
                             EDGES_BUFFER)  # fmt: skip
    assert result is not None
    histogram = LossHistogramSums.from_kernel(result[5])
    assert as_oracle(histogram) == expected
    table = pa.table({"label": pa.array([1] * len(probs)), "prob": pa.array(probs)})
    label, prob = (table.column(name).chunk(0) for name in ("label", "prob"))
    raw = kernel.arrow_sums(
        ("q", label.buffers()[1], 0), [("d", prob.buffers()[1], 0)], None, len(probs), False,
        2.0**-52, EDGES_BUFFER,
    )  # fmt: skip
    assert raw is not None
    assert as_oracle(LossHistogramSums.from_kernel(raw[1])) == expected


@needs_kernel
@pytest.mark.parametrize(
    "edges",
    [
        [-1.0, 0.0, 0.5, 1.0],  # not all positive: searched every time
        [1.0 + i / 1000 for i in range(1000)],  # many edges to a bucket
        [1e-300, 1.0, 1e300],  # more buckets than the table holds
        [0.25],
    ],
    ids=["signed", "dense", "wide", "one"],
)
def test_the_kernel_bins_over_other_edges_as_bisect_does(edges: list[float]) -> None:
    assert kernel is not None
    values = [-1.0, -0.0, 0.0, 0.25, 1.0, 1.5, 2.0, 1e300, math.inf, math.nan]
    values += [math.nextafter(edge, direction) for edge in edges for direction in (0.0, 9.0)]
    values += edges + [float(x) for x in np.linspace(-2.0, 3.0, 501)]
    expected = [len(edges) if math.isnan(v) else bisect.bisect_right(edges, v) for v in values]
    assert kernel.hist_bins(np.array(edges), np.array(values)) == expected


@needs_kernel
def test_the_kernel_refuses_edges_out_of_order() -> None:
    assert kernel is not None
    bad = np.array([1.0, 0.5]).tobytes()
    with pytest.raises(ValueError):
        kernel.scan_csv(b"1,0.5\n", ord(","), 2, 0, [1], -1, False, 1e-15, None, 0, 0, bad)


def write_inputs(tmp_path: Path, n: int = 3000, seed: int = 7) -> dict[str, Path]:
    """A CSV and a Parquet file of the same rows: two probability columns, a logit,
    weights, and probabilities at the edges' losses and at 0 and 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    prob = rng.random(n) ** 3
    edge = np.array(edge_probabilities())
    prob[: len(edge)] = edge
    y[: len(edge)] = 1
    prob[len(edge) : len(edge) + 4] = [0.0, 1.0, 0.0, 1.0]
    other = rng.random(n)
    logit = rng.normal(0, 30, n)
    weight = np.round(rng.random(n) * 5, 3)
    columns = {"label": y, "prob": prob, "other": other, "z": logit, "w": weight}
    csv = tmp_path / "rows.csv"
    with csv.open("w") as out:
        out.write(",".join(columns) + "\n")
        for i in range(n):
            out.write(",".join(repr(float(columns[c][i])) if c != "label" else str(y[i])
                               for c in columns) + "\n")  # fmt: skip
    parquet = tmp_path / "rows.parquet"
    pq.write_table(pa.table(columns), parquet, row_group_size=700)
    return {"csv": csv, "parquet": parquet}


def state_of(path: Path, spec: ColumnSpec, monkeypatch: pytest.MonkeyPatch, fast: bool) -> Any:
    with monkeypatch.context() as patched:
        if not fast:
            for name in KERNEL_USERS:
                patched.setattr(importlib.import_module(name), "kernel", None)
        readers = [open_reader(source) for source in make_sources([str(path)])]
        result = score_readers(readers, Settings(columns=spec, chunk_size=500))
    return result.state.loss_histogram.to_state()


SPECS = [
    ColumnSpec(prob=("prob", "other")),
    ColumnSpec(prob=("prob", "other"), weight="w"),
    ColumnSpec(logit="z"),
    ColumnSpec(logit="z", weight="w"),
]


@needs_kernel
@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("spec", SPECS, ids=["probs", "weighted", "logit", "logit-weighted"])
def test_the_fast_paths_fill_the_state_the_general_path_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, spec: ColumnSpec
) -> None:
    from bcecli.scoring import native_arrow, native_csv

    from conftest import count_kernel_calls

    path = write_inputs(tmp_path)[kind]
    slow = state_of(path, spec, monkeypatch, fast=False)
    with monkeypatch.context() as counted:
        module, function = (
            (native_csv, "scan_csv") if kind == "csv" else (native_arrow, "arrow_sums")
        )
        calls = count_kernel_calls(counted, module, function)
        fast = state_of(path, spec, counted, fast=True)
    assert calls and all(calls)  # the kernel scored every block
    assert fast == slow
    assert sum(slow["models"][0]["rows"]) == 3000


# -- the report document --------------------------------------------------------------

ARGS = [
    ["-p", "prob", "-p", "other"],
    ["-p", "prob", "-p", "other", "-w", "w", "--chunk-size", "333"],
    ["--logit", "z"],
    ["--logit", "z", "-w", "w", "--calibration", "5", "--worst", "3"],
]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("args", ARGS, ids=["probs", "weighted", "logit", "logit-weighted"])
def test_the_document_is_the_same_with_and_without_the_kernel(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str, args: list[str]
) -> None:
    from conftest import both

    path = write_inputs(tmp_path)[kind]
    fast, slow = both(bce, monkeypatch, "score", path, *args, "--format", "json")
    assert fast.exit_code == slow.exit_code == 0, slow.stderr
    assert fast.stdout == slow.stdout
    document = fast.json()  # validated against the shipped schema
    histograms = document["loss_histogram"]
    assert [entry["column"] for entry in histograms] == [
        model["column"] for model in document["models"]
    ]
    for entry in histograms:
        assert entry["edges"] == list(EDGES)
        assert len(entry["rows"]) == len(entry["weight"]) == BINS
        assert sum(entry["rows"]) == document["metrics"]["rows"] == 3000
        assert math.isclose(sum(entry["weight"]), document["metrics"]["weight_sum"])


def test_the_document_bins_against_the_oracle(bce: Any, tmp_path: Path) -> None:
    """Rows and weights per bin from the per-row losses bce rows writes, by bisect and
    Fraction: the report's weights are the exact sums rounded once."""
    path = write_inputs(tmp_path, n=500)["csv"]
    run = bce("score", path, "-p", "prob", "-w", "w", "--format", "json")
    assert run.exit_code == 0, run.stderr
    entry = run.json()["loss_histogram"][0]
    rows_run = bce("rows", path, "-p", "prob", "-w", "w", "--output-format", "csv")
    assert rows_run.exit_code == 0, rows_run.stderr
    written = list(csv.DictReader(io.StringIO(rows_run.stdout)))
    assert len(written) == 500
    losses = [float(row["log_loss"]) for row in written]
    weights = [float(row["w"]) for row in written]
    expected = oracle([losses], weights)[0]
    assert entry["rows"] == expected["rows"]
    assert entry["weight"] == [float(total) for total in expected["weight"]]


def test_every_bin_is_listed_empty_ones_too(bce: Any) -> None:
    from conftest import SAMPLE

    run = bce("score", SAMPLE / "preds.csv", "--format", "json")
    document = run.json()
    entry = document["loss_histogram"][0]
    assert entry["column"] == "prob" and entry["rows"][0] == entry["rows"][-1] == 0
    assert entry["weight"][0] == 0.0
