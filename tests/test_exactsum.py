"""The exact accumulator against math.fsum and Fraction, and its invariances."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bcecli.core.exact import ExactSum, ratio
from bcecli.core.exactsum import exact_sum, grouped_exact_sums

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(arrays(np.float64, st.integers(0, 300), elements=finite))
def test_sum_is_exact(values: np.ndarray) -> None:
    total = exact_sum(values)
    assert total.fraction() == sum((Fraction(v) for v in values.tolist()), Fraction(0))


@given(arrays(np.float64, st.integers(0, 300), elements=finite))
def test_float_is_fsum(values: np.ndarray) -> None:
    # math.fsum is correctly rounded when it does not overflow in between.
    try:
        expected = math.fsum(values.tolist())
    except OverflowError:
        return
    assert float(exact_sum(values)) == expected


@given(
    arrays(np.float64, st.integers(1, 200), elements=finite),
    st.integers(1, 50),
    st.randoms(use_true_random=False),
)
def test_split_and_shuffle_do_not_change_the_sum(
    values: np.ndarray, cut: int, rnd: random.Random
) -> None:
    whole = exact_sum(values)
    shuffled = values.copy()
    rnd.shuffle(shuffled)
    pieces = ExactSum()
    for start in range(0, len(shuffled), cut):
        pieces.add(exact_sum(shuffled[start : start + cut]))
    assert pieces == whole


def test_grouped_sums_match_per_group_sums() -> None:
    rng = np.random.default_rng(1)
    values = rng.standard_normal(10_000) * 10.0 ** rng.integers(-300, 300, 10_000)
    ids = rng.integers(0, 7, 10_000).astype(np.intp)
    grouped = grouped_exact_sums(values, ids, 7)
    for gid in range(7):
        assert grouped[gid] == exact_sum(values[ids == gid])


def test_subnormals_and_huge_values_are_exact() -> None:
    values = np.array([5e-324, 1e308, 1e308, -1e308, 2.5e-320, 1.0])
    assert exact_sum(values).fraction() == sum(map(Fraction, values.tolist()), Fraction(0))


def test_nonfinite_terms_are_kept_apart() -> None:
    assert math.isinf(float(exact_sum(np.array([1.0, np.inf]))))
    assert math.isnan(float(exact_sum(np.array([np.inf, -np.inf]))))
    assert math.isnan(float(exact_sum(np.array([1.0, np.nan]))))


def test_catastrophic_cancellation_is_exact() -> None:
    values = np.array([1e16, 1.0, -1e16, 1e-16])
    assert float(exact_sum(values)) == 1.0 + 1e-16


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        ([1.0, 2.0], [3.0], 1.0),
        ([1.0], [3.0], 1 / 3),
        ([0.1] * 10, [10.0], 0.1),
        ([1.0], [0.0], None),
    ],
)
def test_ratio_is_correctly_rounded(
    numerator: list[float], denominator: list[float], expected: float | None
) -> None:
    result = ratio(exact_sum(np.array(numerator)), exact_sum(np.array(denominator)))
    if expected is None:
        assert result is None
    else:
        exact = sum(map(Fraction, numerator), Fraction(0)) / sum(
            map(Fraction, denominator), Fraction(0)
        )
        assert result == float(exact)


@settings(max_examples=30)
@given(st.integers(0, 10**6))
def test_state_round_trip(n: int) -> None:
    total = exact_sum(np.arange(n % 1000, dtype=np.float64) / 7)
    assert ExactSum.from_state(total.to_state()) == total
