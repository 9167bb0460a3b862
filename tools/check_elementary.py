"""Check bce's exp, log and log1p on millions of values: faithful against decimal, C = numpy.

    python tools/check_elementary.py [COUNT] [--seed N]

COUNT values per function (default 1,000,000), drawn as in tests/test_elementary.py
(random bits, log-uniform magnitudes, the edges bce meets), each checked against
``decimal`` at 50 digits on all cores: the result must be one of the two doubles around
the true value. Prints the largest error seen in ulps and any failure, and whether the C
kernel (when built) gives the same bits as the numpy twin. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from decimal import Context, Decimal

import numpy as np
import numpy.typing as npt

from bcecli._native import kernel
from bcecli.core import elementary

FloatArray = npt.NDArray[np.float64]
NAMES = ("exp", "log", "log1p")
MAX_DOUBLE = Decimal(sys.float_info.max)
_50 = Context(prec=50)
_EXACT = Context(prec=2200)  # 1 + x exactly, for any double x


def true_value(name: str, x: float) -> Decimal | None:
    """The function at x to 50 digits; None where the result is not a finite number."""
    if math.isnan(x) or math.isinf(x):
        return None
    d = Decimal(x)
    if name == "exp":
        if not -800.0 < x < 710.0:
            return None
        return d.exp(_50)
    if name == "log":
        return d.ln(_50) if x > 0.0 else None
    if x <= -1.0:
        return None
    if abs(x) < 1e-20:  # x - x^2/2 + x^3/3, the rest far below 2^-53 relative
        return _50.add(_50.subtract(d, _50.multiply(d, d) / 2), _50.power(d, 3) / 3)
    return _EXACT.add(1, d).ln(_50)


def ulps(result: float, true: Decimal) -> float:
    """|result - true| in units of the spacing of doubles at the result."""
    if math.isinf(result):
        return 0.0 if true > MAX_DOUBLE else math.inf
    spacing = Decimal(math.ulp(result))
    return float(abs(Decimal(result) - true) / spacing)


def faithful(result: float, true: Decimal) -> bool:
    """result is one of the two doubles around true."""
    if math.isinf(result):
        return result > 0 and true > MAX_DOUBLE
    exact = Decimal(result)
    if exact == true:
        return True
    neighbour = math.nextafter(result, math.inf if exact < true else -math.inf)
    if math.isinf(neighbour):
        return True
    return (Decimal(neighbour) >= true) if exact < true else (Decimal(neighbour) <= true)


def sample(name: str, count: int, rng: np.random.Generator) -> FloatArray:
    """Values across the whole domain, weighted to the edges and to bce's own range."""
    part = max(count // 8, 1)
    eps = 2.0**-52
    edges: list[FloatArray] = [
        rng.integers(0, 2**64, part, dtype=np.uint64).view(np.float64),
        np.exp(rng.uniform(-745.0, 709.0, part)) * rng.choice([-1.0, 1.0], part),
    ]
    if name == "exp":
        edges += [
            -rng.exponential(30.0, part),
            rng.uniform(-746.0, -700.0, part),
            rng.uniform(700.0, 710.0, part),
            rng.uniform(-1.0, 1.0, part) * 2.0 ** rng.uniform(-60.0, 0.0, part),
            np.round(rng.uniform(-1100.0, 1100.0, part)) * math.log(2) / 2,  # r near +-ln2/2
        ]
    elif name == "log":
        edges += [
            rng.uniform(0.0, 0.5, part),
            rng.uniform(eps, 1.0, part),
            1.0 + rng.uniform(-1.0, 1.0, part) * 2.0 ** rng.uniform(-53.0, -1.0, part),
            rng.integers(1, 2**52, part, dtype=np.uint64).view(np.float64),  # subnormals
            np.sqrt(2.0) * 2.0 ** np.round(rng.uniform(-1074.0, 1023.0, part)),
        ]
    else:
        edges += [
            -rng.uniform(eps, 1.0 - eps, part),
            -1.0 + rng.uniform(0.0, 1.0, part) * 2.0 ** rng.uniform(-53.0, 0.0, part),
            rng.uniform(-1.0, 1.0, part) * 2.0 ** rng.uniform(-80.0, 0.0, part),
            np.sqrt(2.0) * 2.0 ** np.round(rng.uniform(-60.0, 60.0, part)) - 1.0,
            rng.uniform(-1.0, 3.0, part),
        ]
    values = np.concatenate(edges)
    fill = count - len(values)
    if fill > 0:
        values = np.concatenate([values, rng.uniform(-1.0, 1.0, fill)])
    return values[:count]


def _check(job: tuple[str, FloatArray]) -> tuple[int, float, list[float]]:
    """(values checked, largest error in ulps, failing x) for one piece."""
    name, x = job
    results = getattr(elementary, name)(x)
    checked, worst, failures = 0, 0.0, list[float]()
    for value, result in zip(x.tolist(), results.tolist()):
        true = true_value(name, value)
        if true is None:
            continue
        checked += 1
        worst = max(worst, ulps(result, true))
        if not faithful(result, true):
            failures.append(value)
    return checked, worst, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    status = 0
    with multiprocessing.Pool() as pool:
        for name in NAMES:
            started = time.perf_counter()
            x = sample(name, args.count, rng)
            same = "no kernel"
            if kernel is not None:
                c = np.empty_like(x)
                kernel.elementary(name, x, c)
                twin = getattr(elementary, name)(x)
                differ = int(np.count_nonzero(c.view(np.uint64) != twin.view(np.uint64)))
                same = "same bits" if differ == 0 else f"{differ} DIFFER"
                status |= differ != 0
            pieces = [(name, piece) for piece in np.array_split(x, 64 * (1 + len(x) // 10**6))]
            checked, worst, failures = 0, 0.0, list[float]()
            for n, w, f in pool.imap_unordered(_check, pieces):
                checked, worst, failures = checked + n, max(worst, w), failures + f
            status |= bool(failures)
            seconds = time.perf_counter() - started
            print(
                f"{name:6} {len(x):>10,} values, {checked:,} finite checked: "
                f"max error {worst:.4f} ulp, {len(failures)} not faithful "
                f"{[float(v) for v in failures[:5]]}; C vs numpy: {same}; {seconds:.1f} s"
            )
    return status


if __name__ == "__main__":
    sys.exit(main())
