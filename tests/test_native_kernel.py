"""The C kernel's exact sums and per-group sums against independent oracles: Python's
``Fraction`` for the sums, the numpy path (``bcecli.core.exactsum``, the reference) for
every sum of the report, bit for bit."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcecli._native import kernel
from bcecli.core import accumulate
from bcecli.core.exact import SCALE_BITS, ExactSum

pytestmark = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")


def fraction_sum(values: np.ndarray) -> tuple[Fraction, float]:
    """The exact sum of the finite values, and the float sum of the others."""
    finite = [Fraction(float(v)) for v in values.tolist() if math.isfinite(v)]
    special = 0.0  # inf + inf = inf, inf - inf = nan: the same in any order
    for value in values.tolist():
        if not math.isfinite(value):
            special += value
    return sum(finite, Fraction(0)), special


def kernel_sum(values: np.ndarray) -> tuple[Fraction, float]:
    assert kernel is not None
    units, special = kernel.exact_sum(np.ascontiguousarray(values, dtype=np.float64))
    return Fraction(units, 1 << SCALE_BITS), special


ADVERSARIAL = [
    [1e300, 1e-300, -1e300],
    [2.0**1023, 2.0**1023, -(2.0**1023), -(2.0**1023), 5e-324],
    [1.7976931348623157e308] * 7 + [-1.7976931348623157e308] * 6,
    [5e-324, -5e-324, 5e-324, 2.2250738585072014e-308, -2.225073858507201e-308],
    [0.1] * 10 + [-1.0],
    [1.0, 2.0**-1074, -1.0],
    [-0.0, 0.0, -0.0],
    [math.inf, 1.0, -5.0],
    [math.inf, -math.inf, 2.0],
    [math.nan, 1.0],
]


@pytest.mark.parametrize("values", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_magnitudes_sum_exactly(values: list[float]) -> None:
    array = np.array(values)
    exact, special = fraction_sum(array)
    got, got_special = kernel_sum(array)
    assert got == exact
    assert got_special == special or (math.isnan(got_special) and math.isnan(special))


FINITE = st.floats(allow_nan=False, allow_infinity=False)
SPREAD = st.one_of(
    FINITE,
    st.integers(-1074, 1023).map(lambda e: math.ldexp(1.0, e)),
    st.integers(0, (1 << 64) - 1).map(
        lambda bits: struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    ),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(SPREAD, max_size=200))
def test_any_floats_sum_as_fractions_do(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    exact, special = fraction_sum(array)
    got, got_special = kernel_sum(array)
    assert got == exact
    assert got_special == special or (math.isnan(got_special) and math.isnan(special))


@pytest.mark.parametrize("value", [1.7976931348623157e308, -3.0, 5e-324, 0.1])
def test_more_than_two_to_the_thirty_equal_terms_carry_exactly(value: float) -> None:
    # 2^30 adds fill the limbs' headroom: the sum must normalise and carry on exactly.
    assert kernel is not None
    count = (1 << 30) + 12_345
    units, special = kernel.exact_sum_repeated(value, count)
    assert Fraction(units, 1 << SCALE_BITS) == Fraction(value) * count and special == 0.0


def test_a_sum_matches_the_numpy_bins_whatever_the_magnitudes() -> None:
    rng = np.random.default_rng(7)
    values = rng.standard_normal(200_000) * np.exp2(rng.integers(-1074, 1000, 200_000))
    values = values[np.isfinite(values)]
    from bcecli.core.exactsum import exact_sum

    assert ExactSum(*kernel_sum_state(values)) == exact_sum(values)


def kernel_sum_state(values: np.ndarray) -> tuple[int, float]:
    assert kernel is not None
    units, special = kernel.exact_sum(values)
    return units, special


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300),
    n_models=st.integers(1, 3),
    n_groups=st.integers(1, 5),
    weighted=st.booleans(),
    logit=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_group_sums_are_the_numpy_paths_bit_for_bit(
    n: int, n_models: int, n_groups: int, weighted: bool, logit: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    if logit:
        predictions = [
            rng.standard_normal(n) * 10.0 ** rng.integers(-3, 3) for _ in range(n_models)
        ]
    else:
        predictions = [rng.random(n) ** rng.integers(1, 40) for _ in range(n_models)]
        for p in predictions:
            p[rng.random(n) < 0.05] = rng.choice([0.0, 1.0, 1e-300, 1 - 1e-17])
    weight = rng.lognormal(0.0, 3.0, n) if weighted else None
    ids = rng.integers(0, n_groups, n).astype(np.intp)
    chunk = accumulate.compute_losses(y, predictions, weight, logit=logit)
    native = accumulate._kernel_sums(chunk, ids, n_groups)
    with np.errstate(over="ignore", invalid="ignore"):
        reference = accumulate._chunk_sums(chunk, ids, n_groups)
    assert [g.to_state() for g in native] == [g.to_state() for g in reference]


def test_losses_match_the_numpy_twin_bit_for_bit() -> None:
    assert kernel is not None
    from bcecli.core.loss import DEFAULT_EPS, loss_from_logit, loss_from_prob, sigmoid

    rng = np.random.default_rng(3)
    n = 300_000
    y = rng.random(n) < 0.5
    p = rng.random(n) ** rng.integers(1, 60, n)
    p[:6] = [0.0, 1.0, 5e-324, 0.5, 1 - 2**-53, 2**-52]
    loss = np.empty(n)
    kernel.losses(y, p, loss, None, False, DEFAULT_EPS)
    assert loss.tobytes() == loss_from_prob(y, p).tobytes()
    z = rng.standard_normal(n) * 10.0 ** rng.integers(-5, 300, n)
    prob = np.empty(n)
    kernel.losses(y, z, loss, prob, True, DEFAULT_EPS)
    assert loss.tobytes() == loss_from_logit(y, z).tobytes()
    assert prob.tobytes() == sigmoid(z).tobytes()


def test_bad_buffers_raise_instead_of_reading_out_of_bounds() -> None:
    assert kernel is not None
    y = np.ones(3, dtype=bool)
    with pytest.raises(ValueError):
        kernel.losses(y, np.ones(4), np.empty(3), None, False, 1e-15)
    with pytest.raises(ValueError):
        kernel.group_sums(
            y, [np.ones(3)], [np.ones(3)], None, np.array([0, 1, 5], np.intp), 2, False, 1e-15
        )
    with pytest.raises(ValueError):
        kernel.exact_sum(b"1234567")
