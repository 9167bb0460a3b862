"""bce's exp, log and log1p: faithful against decimal, and the C kernel's bits = the twin's."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bcecli._native import kernel
from bcecli.core import elementary

NAMES = ("exp", "log", "log1p")
EPS = 2.0**-52
needs_kernel = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")


def _checker() -> ModuleType:
    """tools/check_elementary.py, the thorough run's script: its decimal oracle serves here."""
    path = Path(__file__).resolve().parent.parent / "tools" / "check_elementary.py"
    spec = importlib.util.spec_from_file_location("bce_tools_check_elementary", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ORACLE = _checker()
true_value = _ORACLE.true_value  # the function at x to 50 digits (None: not finite)
faithful = _ORACLE.faithful  # the result is one of the two doubles around the true value


def unfaithful(name: str, x: np.ndarray) -> list[float]:
    results = getattr(elementary, name)(x)
    return [
        value
        for value, result in zip(x.tolist(), results.tolist())
        if (true := true_value(name, value)) is not None and not faithful(result, true)
    ]


def kernel_values(name: str, x: np.ndarray) -> np.ndarray:
    assert kernel is not None
    out = np.empty_like(x)
    kernel.elementary(name, x, out)
    return out


def assert_same_bits(name: str, x: np.ndarray) -> None:
    c = kernel_values(name, x).view(np.uint64)
    twin = getattr(elementary, name)(x).view(np.uint64)
    differ = np.flatnonzero(c != twin)
    assert len(differ) == 0, (name, x[differ[:5]].tolist())


EDGES = np.array(
    [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, 1.0, -1.0, 2.0, -2.0, 3.0, 0.5]
    + [5e-324, -5e-324, 2.0**-1022, 2.0**-1022 - 5e-324, sys.float_info.max, -sys.float_info.max]
    + [EPS, 1.0 - EPS, 1.0 + EPS, -1.0 + 2.0**-53, -EPS, 2.0 - EPS, 1e300, -1e300, 1e-300]
    + [709.78, 709.782712893384, 709.7827128933841, 709.79, 709.8, 710.0, -708.39, -708.4]
    + [-744.44, -745.13, -745.1332191019411, -745.1332191019412, -745.14, -745.2, -745.3]
)


def sample(name: str, count: int, seed: int) -> np.ndarray:
    """Values across the whole domain, weighted to the edges and to bce's own range."""
    rng = np.random.default_rng(seed)
    part = count // 8
    values = [
        EDGES,
        rng.integers(0, 2**64, part, dtype=np.uint64).view(np.float64),  # random bits
        np.exp(rng.uniform(-745.0, 709.0, part)) * rng.choice([-1.0, 1.0], part),
        rng.integers(1, 2**52, part // 4, dtype=np.uint64).view(np.float64),  # subnormals
        rng.uniform(-1.0, 1.0, part) * 2.0 ** rng.uniform(-80.0, 0.0, part),  # near 0
    ]
    if name == "exp":
        values += [
            -rng.exponential(30.0, part),  # exp(-|z|)
            rng.uniform(-746.0, -700.0, part),  # into the subnormals
            rng.uniform(700.0, 710.0, part),  # to overflow
            np.round(rng.uniform(-1100.0, 1100.0, part)) * math.log(2) / 2,  # |r| near ln2/2
        ]
    elif name == "log":
        values += [
            rng.uniform(0.0, 0.5, part),
            rng.uniform(EPS, 1.0, part),
            1.0 + rng.uniform(-1.0, 1.0, part) * 2.0 ** rng.uniform(-53.0, -1.0, part),
            np.sqrt(2.0) * 2.0 ** np.round(rng.uniform(-1074.0, 1023.0, part)),
        ]
    else:
        values += [
            -rng.uniform(EPS, 1.0 - EPS, part),  # -|y - p|
            -1.0 + rng.uniform(0.0, 1.0, part) * 2.0 ** rng.uniform(-53.0, 0.0, part),
            np.sqrt(2.0) * 2.0 ** np.round(rng.uniform(-60.0, 60.0, part)) - 1.0,
            rng.uniform(-1.5, 3.5, part),
        ]
    return np.concatenate(values)


@needs_kernel
@pytest.mark.parametrize("name", NAMES)
def test_kernel_and_twin_give_the_same_bits(name: str) -> None:
    assert_same_bits(name, sample(name, 1_500_000, seed=NAMES.index(name)))


@needs_kernel
@settings(max_examples=300)
@given(arrays(np.float64, st.integers(0, 40), elements=st.floats(width=64)))
def test_kernel_and_twin_agree_on_any_floats(x: np.ndarray) -> None:
    for name in NAMES:
        assert_same_bits(name, x)


@pytest.mark.parametrize("name", NAMES)
def test_faithful_against_decimal(name: str) -> None:
    x = sample(name, 24_000, seed=10 + NAMES.index(name))
    assert unfaithful(name, x) == []


@settings(max_examples=200)
@given(st.floats(width=64, allow_nan=False, allow_infinity=False))
def test_faithful_on_any_float(value: float) -> None:
    for name in NAMES:
        assert unfaithful(name, np.array([value])) == []


def same(a: float, b: float) -> bool:
    both_nan = math.isnan(a) and math.isnan(b)
    return both_nan or (a == b and math.copysign(1, a) == math.copysign(1, b))


@pytest.mark.parametrize("name", NAMES)
def test_special_values_as_numpy(name: str) -> None:
    # where the result is exact, or not a finite nonzero number
    x = np.array([0.0, -0.0, math.inf, -math.inf, math.nan, -5.0, -1.0, -1e-300, 1e-310])
    x = np.concatenate([x, [800.0, -800.0, -745.2, 709.8, -1.5, -1e-310, -1e300]])
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(x)
    ours = getattr(elementary, name)(x)
    assert all(same(a, b) for a, b in zip(ours.tolist(), expected.tolist())), ours
    # one nan for every domain error, whatever the platform's
    domain_errors = ours[np.isnan(ours) & ~np.isnan(x)].view(np.uint64)
    assert (domain_errors == 0x7FF8000000000000).all()


def test_exp_underflows_through_the_subnormals() -> None:
    x = np.linspace(-745.2, -708.0, 20_001)
    y = elementary.exp(x)
    assert np.all(np.diff(y) >= 0.0)
    assert y[0] == 0.0 and 0.0 < y[-1] and (y < 2.3e-308).sum() > 10_000


@pytest.mark.parametrize("name", NAMES)
def test_arrays_of_any_length_and_out(name: str) -> None:
    function = getattr(elementary, name)
    assert function(np.empty(0)).shape == (0,)
    x = np.random.default_rng(5).uniform(0.01, 0.99, elementary.BLOCK * 2 + 17)
    expected = function(x)
    for start in (0, 1, elementary.BLOCK - 1):  # pieces that cross the blocks
        assert function(x[start:]).tobytes() == expected[start:].tobytes()
    out = np.empty_like(x)
    assert function(x, out=out) is out and out.tobytes() == expected.tobytes()
    inplace = x.copy()
    function(inplace, out=inplace)
    assert inplace.tobytes() == expected.tobytes()
    assert function([0.5]).dtype == np.float64
    with pytest.raises(ValueError):
        function(x, out=np.empty(3))
