"""Every metric of SPEC section 4 against an independent numpy / scikit-learn computation,
and the invariances: chunk size, row order, weights of one."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, log_loss

import bcecli
from bcecli.report.jsonout import render_json

from conftest import validate_report

EPS = float(np.finfo(np.float64).eps)


def oracle(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> dict[str, float]:
    """The metrics by direct formulas, with math.fsum / Fraction where exactness matters."""
    weights = np.ones(len(y)) if w is None else w
    pc = np.clip(p, EPS, 1 - EPS)
    loss = np.where(y == 1, -np.log(pc), -np.log1p(-pc))
    total = math.fsum(weights)
    mean = math.fsum(weights * loss) / total
    n = len(y)
    base_rate = math.fsum(weights[y == 1]) / total
    entropy = -(base_rate * math.log(base_rate) + (1 - base_rate) * math.log1p(-base_rate))
    spread = math.fsum(weights**2 * (loss - mean) ** 2)
    return {
        "rows": n,
        "weight_sum": total,
        "positives": math.fsum(weights[y == 1]),
        "base_rate": base_rate,
        "mean_prob": math.fsum(weights * p) / total,
        "log_loss": mean,
        "log_loss_se": math.sqrt(n / (n - 1) * spread / total**2),
        "normalized_entropy": mean / entropy,
        "brier": math.fsum(weights * (p - y) ** 2) / total,
        "clipped": int(np.count_nonzero((p < EPS) | (p > 1 - EPS))),
    }


def sample(seed: int, n: int = 5000, weighted: bool = False) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    p = 1 / (1 + np.exp(-(rng.normal(-1, 2, n) + 1.5 * y)))
    p[:5] = [0.0, 1.0, 1e-300, 1 - 1e-17, 0.5]
    w = np.round(rng.lognormal(0, 1, n), 3) if weighted else None
    return y, p, w


@pytest.mark.parametrize("weighted", [False, True])
def test_every_metric_matches_the_oracle(weighted: bool) -> None:
    y, p, w = sample(3, weighted=weighted)
    metrics = bcecli.score(y=y, p=p, w=w).metrics
    expected = oracle(y, p, w)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-12), key
    assert metrics["skipped"] == 0
    assert metrics["ece"] is None


@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_agrees_with_sklearn_to_1e_12(weighted: bool) -> None:
    y, p, w = sample(4, 20_000, weighted)
    ours = bcecli.score(y=y, p=p, w=w).metrics
    theirs = log_loss(y, p, sample_weight=w, labels=[0, 1])
    assert ours["log_loss"] == pytest.approx(theirs, rel=1e-12)
    assert ours["brier"] == pytest.approx(brier_score_loss(y, p, sample_weight=w), rel=1e-12)


def test_perfect_predictions_agree_with_sklearn() -> None:
    y = np.array([0, 1] * 500)
    p = y.astype(np.float64)
    metrics = bcecli.score(y=y, p=p).metrics
    assert metrics["log_loss"] == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12)
    assert metrics["log_loss"] == pytest.approx(2.220446049250313e-16, rel=1e-12)
    assert metrics["clipped"] == 1000
    assert metrics["log_loss_se"] == pytest.approx(0.0, abs=1e-20)


def test_log_loss_is_the_correctly_rounded_mean() -> None:
    y, p, _ = sample(5, 3000)
    pc = np.clip(p, EPS, 1 - EPS)
    loss = np.where(y == 1, -np.log(pc), -np.log1p(-pc))
    exact = sum(map(Fraction, loss.tolist()), Fraction(0)) / len(loss)
    assert bcecli.score(y=y, p=p).metrics["log_loss"] == float(exact)


def test_single_row_has_no_standard_error_and_pure_classes_no_ne() -> None:
    metrics = bcecli.score(y=[1], p=[0.8]).metrics
    assert metrics["log_loss_se"] is None
    assert metrics["normalized_entropy"] is None  # base rate 1: entropy 0
    document = bcecli.score(y=[1], p=[0.8]).to_dict()
    validate_report(document)
    assert "NaN" not in render_json(document)


def test_logit_metrics_use_the_sigmoid() -> None:
    rng = np.random.default_rng(6)
    z = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)
    metrics = bcecli.score(y=y, z=z).metrics
    p = 1 / (1 + np.exp(-z))
    assert metrics["log_loss"] == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-9)
    assert metrics["mean_prob"] == pytest.approx(p.mean(), rel=1e-12)
    assert metrics["clipped"] == 0


def test_logits_up_to_1e300_stay_finite_and_exact() -> None:
    metrics = bcecli.score(y=[1, 0, 1, 0], z=[-1e300, 1e300, 1e300, -1e300]).metrics
    assert metrics["log_loss"] == 5e299
    assert metrics["log_loss_se"] is None or math.isfinite(metrics["log_loss_se"])


def report_json(y: np.ndarray, p: np.ndarray, w: np.ndarray | None, chunk: int) -> str:
    document = bcecli.score(y=y, p=p, w=w, chunk_size=chunk, calibration=5).to_dict()
    document["settings"]["chunk_size"] = 0
    return json.dumps(document, sort_keys=True)


probability = st.one_of(
    st.sampled_from([0.0, 1.0, 1e-300, 5e-324, 1e-17, 1 - 1e-16, 0.5]),
    st.floats(0.0, 1.0, allow_nan=False),
)
weight = st.one_of(st.floats(0.0, 1e6, allow_nan=False), st.sampled_from([0.0, 1e-300, 1e300, 1.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.booleans(), probability, weight), min_size=2, max_size=120),
    st.integers(1, 130),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_chunk_size_and_row_order_never_change_the_report(
    rows: list[tuple[bool, float, float]], chunk: int, weighted: bool, rnd: object
) -> None:
    y = np.array([r[0] for r in rows], dtype=np.int64)
    p = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows]) if weighted else None
    if w is not None and not w.any():
        w[0] = 1.0
    reference = report_json(y, p, w, 100_000)
    assert report_json(y, p, w, chunk) == reference
    order = list(range(len(rows)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = report_json(y[order], p[order], None if w is None else w[order], chunk)
    assert shuffled == reference


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), probability), min_size=2, max_size=80))
def test_weights_of_one_equal_no_weights(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows], dtype=np.int64)
    p = np.array([r[1] for r in rows])
    plain = bcecli.score(y=y, p=p).metrics
    ones = bcecli.score(y=y, p=p, w=np.ones(len(rows))).metrics
    assert ones == plain


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), probability), min_size=2, max_size=80))
def test_mean_agrees_with_sklearn_on_random_data(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows], dtype=np.int64)
    p = np.array([r[1] for r in rows])
    ours = bcecli.score(y=y, p=p).metrics["log_loss"]
    assert ours == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12)


def test_chunked_file_reports_are_byte_identical(tmp_path: object) -> None:
    from conftest import SAMPLE

    reports = set()
    for chunk in (1, 7, 1000, 100_000):
        document = bcecli.score(str(SAMPLE / "preds.csv"), chunk_size=chunk).to_dict()
        document["settings"]["chunk_size"] = 0
        reports.add(json.dumps(document))
    assert len(reports) == 1
