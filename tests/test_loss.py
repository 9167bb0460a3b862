"""The per-row loss kernels against direct formulas and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bcecli.core.loss import DEFAULT_EPS, loss_from_logit, loss_from_prob, sigmoid


def test_default_eps_is_machine_epsilon() -> None:
    assert DEFAULT_EPS == np.finfo(np.float64).eps == 2.220446049250313e-16


def test_a_fully_wrong_row_costs_36_04() -> None:
    loss = loss_from_prob(np.array([True, False]), np.array([0.0, 1.0]))
    assert loss == pytest.approx([36.04365338911715] * 2, rel=1e-15)
    assert round(float(loss[0]), 2) == 36.04


def test_log1p_branch_for_negatives() -> None:
    p = np.array([1e-20, 1e-10, 0.5, 0.9])
    expected = [-math.log1p(-max(v, DEFAULT_EPS)) for v in p]
    assert loss_from_prob(np.zeros(4, bool), p).tolist() == pytest.approx(expected, rel=1e-15)


def test_custom_eps_clips() -> None:
    loss = loss_from_prob(np.array([True]), np.array([0.0]), eps=1e-7)
    assert float(loss[0]) == pytest.approx(-math.log(1e-7), rel=1e-15)


probabilities = st.floats(0.0, 1.0, allow_nan=False)


@given(arrays(np.float64, st.integers(1, 50), elements=probabilities), st.data())
def test_each_row_depends_on_that_row_alone(p: np.ndarray, data: st.DataObject) -> None:
    y = np.array(data.draw(st.lists(st.booleans(), min_size=len(p), max_size=len(p))))
    whole = loss_from_prob(y, p)
    one_by_one = np.concatenate([loss_from_prob(y[i : i + 1], p[i : i + 1]) for i in range(len(p))])
    assert whole.tobytes() == one_by_one.tobytes()


# Beyond |z| ~ 15 the rounding of p itself, not the kernel, dominates the prob path.
@given(st.floats(-15, 15, allow_nan=False), st.booleans())
def test_logit_agrees_with_probability_path(z: float, y: bool) -> None:
    p = 1.0 / (1.0 + math.exp(-z))
    by_prob = float(loss_from_prob(np.array([y]), np.array([p]), eps=1e-300)[0])
    by_logit = float(loss_from_logit(np.array([y]), np.array([z]))[0])
    assert by_logit == pytest.approx(by_prob, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("z", [1e300, -1e300, 1e10, -1e10, 745.0, -745.0, 0.0])
def test_logit_is_finite_and_exact_for_huge_scores(z: float) -> None:
    positive = float(loss_from_logit(np.array([True]), np.array([z]))[0])
    negative = float(loss_from_logit(np.array([False]), np.array([z]))[0])
    # softplus(-z) for y=1 and softplus(z) for y=0; for |z| large it is max(., 0) exactly.
    assert math.isfinite(positive) and math.isfinite(negative)
    if abs(z) > 40:
        assert positive == (max(-z, 0.0) or math.exp(-abs(z)))
        assert negative == (max(z, 0.0) or math.exp(-abs(z)))
    if z == 0.0:
        assert positive == negative == math.log(2)


def test_sigmoid_is_stable() -> None:
    values = sigmoid(np.array([-1e300, -800.0, 0.0, 800.0, 1e300]))
    assert values.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
