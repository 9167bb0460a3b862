"""bce's own exp, log and log1p over float64 arrays: the same bits on every machine.

numpy's ``np.exp``, ``np.log`` and ``np.log1p`` call the platform's libm or a SIMD
kernel chosen at run time, and their last bit differs between machines. These functions
use only ``+ - * /``, each rounded once (IEEE, no fused multiply-add), exact bit
operations on the float64 representation, comparisons and sign copies, in the very order
of bce's C kernel (``bcecli/_native/bce_math.c``), so the two give identical bits.

Algorithm
---------
log(u), u > 0 normal (a subnormal is first scaled by 2^54, exactly): write u = 2^k m,
m in [sqrt(2)/2, sqrt(2)), by adding ``1.0 - sqrt(2)/2`` to u's bits, which carries into
the exponent field exactly when m would reach sqrt(2); k and m then come from that field
and the mantissa bits. With f = m - 1 (exact), s = f / (2 + f), z = s^2,
log(m) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(z)), R a degree-7 polynomial (Remez,
error 2^-58.5 relative to log(m)), and::

    log(u) = k ln2_hi - ((f^2/2 - (s (f^2/2 + R) + (k ln2_lo + c))) - f)

where ln 2 = ln2_hi + ln2_lo, ln2_hi with 32 significant bits so that k ln2_hi is exact.

log1p(x): u = 1 + x rounded, err = its exact rounding error (Fast2Sum: x - (u - 1) when
|x| < 2, 1 - (u - x) otherwise), and log1p(x) = log(u + err) = log(u) + c, c = err / u
(the neglected c^2/2 is below 2^-106 relative). The result takes x's sign, for -0.

exp(x): k = rint(x / ln2) by adding 1.5 * 2^52 (round to nearest even, in the low bits
of the sum), hi = x - k ln2_hi (exact), lo = k ln2_lo, r = hi - lo, |r| <= ln(2)/2,
c = r - z P(z) with z = r^2 and P a degree-4 polynomial fitting (r coth(r/2) - 2) / z
(Remez, error 2^-61.3 in exp(r)), so exp(r) = 1 - ((lo - r c / (2 - c)) - hi); then
2^k by adding k to the exponent field, or for k = 1024 and subnormal results by one last
multiplication, which rounds once.

Accuracy
--------
In both reconstructions the leading term (f, or 1 with hi) is exact and every rounding
error lands in a correction at most about a fifth of the result (f^2/2 vs f, k ln2_hi
exact; r c / (2 - c) vs 1), so the rounding errors before the last operation add up to
well under half an ulp of the result, and the last operation adds at most half an ulp:
the result is faithful, within 1 ulp of the true value (one of the two doubles around
it). tests/test_elementary.py checks this against ``decimal`` on tens of thousands of
values per function, ``tools/check_elementary.py`` on millions.

Special values follow numpy's: log(0) = log1p(-1) = -inf, log(x < 0) = log1p(x < -1) =
nan (always the quiet nan 0x7ff8000000000000), exp overflows to inf above ~709.78 and
underflows through the subnormals to 0, exp(-inf) = 0, and a nan x gives ``x + x``.

Speed: the general path runs over whole blocks with in-place ufuncs into per-thread
scratch buffers; only the rare inputs outside it (found with one integer comparison on
the bits) are redone one by one through the same branches as the C.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
UIntArray = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]

# Elements per block: the seven scratch arrays of a block (3.5 MiB) stay in the caches, and
# the ufunc calls per element are few (measured best of 2^12 to 2^20).
BLOCK = 1 << 16

_U = np.uint64
_POS_INF_BITS = _U(0x7FF0000000000000)
_NAN = float(np.array([0x7FF8000000000000], dtype=np.uint64).view(np.float64)[0])
_MIN_NORMAL_BITS = _U(0x0010000000000000)
_THREE_BITS = _U(0x4008000000000000)
_MANTISSA_MASK = _U(0x000FFFFFFFFFFFFF)
_SQRT_HALF_BITS = _U(0x3FE6A09E667F3BCD)
_ONE_BITS = _U(0x3FF0000000000000)
_CARRY = _U(0x3FF0000000000000 - 0x3FE6A09E667F3BCD)
_NORMAL_RANGE = _U(0x7FF0000000000000 - 0x0010000000000000)
_LOG1P_RANGE = _U(0x4008000000000000 - 0x0010000000000000)
_52 = _U(52)
_TWO_POW_54 = 18014398509481984.0

_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")

_L1 = 0.6666666666666733
_L2 = 0.39999999999421265
_L3 = 0.2857142874113956
_L4 = 0.22222198686530967
_L5 = 0.18183558985402157
_L6 = 0.15314176499829446
_L7 = 0.14794774115044093

_P1 = 0.16666666666666557
_P2 = -0.002777777777670995
_P3 = 6.613756252963186e-05
_P4 = -1.6533839629514293e-06
_P5 = 4.136124138920889e-08
_INV_LN2 = float.fromhex("0x1.71547652b82fep+0")
_SHIFT = float.fromhex("0x1.8p52")
_SHIFT_BITS = 0x4338000000000000
_EXP_LOW_BITS = _U(_SHIFT_BITS - 1021)  # t's bits minus this: k + 1021, in [0, 2044] or not
_EXP_SPAN = _U(2044)
_EXP_OVER = 709.79
_EXP_UNDER = -745.2
_TWO_POW_MINUS_1000 = float.fromhex("0x1p-1000")


class _Scratch(threading.local):
    """Per-thread work arrays of BLOCK elements (threads may score chunks at once)."""

    def __init__(self) -> None:
        self.floats = [np.empty(BLOCK, dtype=np.float64) for _ in range(7)]
        self.flags = np.empty(BLOCK, dtype=np.bool_)


_scratch = _Scratch()


def _bits(a: FloatArray) -> UIntArray:
    return a.view(np.uint64)


def _prepare(x: npt.ArrayLike, out: FloatArray | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The input and the output, flat, and the array to return."""
    source = np.ascontiguousarray(x, dtype=np.float64)
    if out is None:
        out = np.empty_like(source)
    elif out.dtype != np.float64 or out.shape != source.shape or not out.flags.c_contiguous:
        raise ValueError("out must be a contiguous float64 array of the input's shape")
    return source.reshape(-1), out.reshape(-1), out


def _log_core(
    u_bits: UIntArray, bias: float, c: FloatArray | None, s: list[FloatArray]
) -> FloatArray:
    """log(u) + c for normal positive u given by its bits, into s[3]; uses s[1] to s[5].

    Without c the C adds 0.0 to k * ln2_lo, which is never -0.0: the same bits.
    """
    f, sq, k, z, r = s[1], s[2], s[3], s[4], s[5]
    carried, e = _bits(f), _bits(sq)
    np.add(u_bits, _CARRY, out=carried)
    np.right_shift(carried, _52, out=e)
    np.subtract(e, bias, out=k)
    np.bitwise_and(carried, _MANTISSA_MASK, out=carried)
    np.add(carried, _SQRT_HALF_BITS, out=carried)  # m
    np.subtract(f, 1.0, out=f)
    np.add(f, 2.0, out=sq)
    np.divide(f, sq, out=sq)  # s
    np.multiply(sq, sq, out=z)
    np.multiply(z, _L7, out=r)
    for coefficient in (_L6, _L5, _L4, _L3, _L2, _L1):
        np.add(r, coefficient, out=r)
        np.multiply(r, z, out=r)
    hfsq = z
    np.multiply(f, 0.5, out=hfsq)
    np.multiply(hfsq, f, out=hfsq)
    np.add(r, hfsq, out=r)
    np.multiply(r, sq, out=r)
    low = sq
    np.multiply(k, _LN2_LO, out=low)
    if c is not None:
        np.add(low, c, out=low)
    np.add(r, low, out=r)
    np.subtract(hfsq, r, out=hfsq)
    np.subtract(hfsq, f, out=hfsq)
    np.multiply(k, _LN2_HI, out=k)
    np.subtract(k, hfsq, out=k)
    return k


def _small_scratch(n: int) -> list[FloatArray]:
    return [np.empty(n, dtype=np.float64) for _ in range(7)]


def _log_special(x: FloatArray) -> FloatArray:
    """The C's branches for inputs that are not normal positive finite numbers."""
    result = np.where(x < 0.0, _NAN, x + x)  # nan, and +inf (x + x = x)
    result[x == 0.0] = -np.inf
    sub = np.flatnonzero((x > 0.0) & (x < np.inf))
    if len(sub):
        lifted = np.multiply(x[sub], _TWO_POW_54)
        result[sub] = _log_core(_bits(lifted), 1077.0, None, _small_scratch(len(sub)))
    return result


def log(x: npt.ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """Natural logarithm, elementwise, faithfully rounded; bce_log's bits."""
    source, target, returned = _prepare(x, out)
    s, flags = _scratch.floats, _scratch.flags
    with np.errstate(all="ignore"):
        for start in range(0, len(source), BLOCK):
            xs = source[start : start + BLOCK]
            n = len(xs)
            b = [a[:n] for a in s]
            check = _bits(b[0])
            np.subtract(_bits(xs), _MIN_NORMAL_BITS, out=check)
            rare = np.flatnonzero(np.greater_equal(check, _NORMAL_RANGE, out=flags[:n]))
            special = xs[rare]
            result = _log_core(_bits(xs), 1023.0, None, b)
            block = target[start : start + n]
            np.copyto(block, result)
            if len(rare):
                block[rare] = _log_special(special)
    return returned


def _log1p_special(x: FloatArray) -> FloatArray:
    """The C's branches for x outside (-1, 2) or with 1 + x rounding up to 3."""
    u = 1.0 + x
    result = np.where(x < -1.0, _NAN, x + x)  # nan, and +inf
    result[x == -1.0] = -np.inf
    big = np.flatnonzero((x > -1.0) & (x < np.inf))
    if len(big):
        xb, ub = x[big], u[big]
        err = np.where(xb < 2.0, xb - (ub - 1.0), 1.0 - (ub - xb))
        value = _log_core(_bits(ub), 1023.0, err / ub, _small_scratch(len(big)))
        result[big] = np.copysign(value, xb)
    return result


def log1p(x: npt.ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """log(1 + x), elementwise, faithfully rounded; bce_log1p's bits."""
    source, target, returned = _prepare(x, out)
    s, flags = _scratch.floats, _scratch.flags
    with np.errstate(all="ignore"):
        for start in range(0, len(source), BLOCK):
            xs = source[start : start + BLOCK]
            n = len(xs)
            b = [a[:n] for a in s]
            u, c = b[0], b[6]
            np.add(xs, 1.0, out=u)
            check = _bits(c)
            np.subtract(_bits(u), _MIN_NORMAL_BITS, out=check)
            rare = np.flatnonzero(np.greater_equal(check, _LOG1P_RANGE, out=flags[:n]))
            special = xs[rare]
            # -1 < x < 2: Fast2Sum(1, x), the exact error of 1 + x
            np.subtract(u, 1.0, out=c)
            np.subtract(xs, c, out=c)
            np.divide(c, u, out=c)
            result = _log_core(_bits(u), 1023.0, c, b)
            block = target[start : start + n]
            np.copysign(result, xs, out=block)
            if len(rare):
                block[rare] = _log1p_special(special)
    return returned


def _exp_core(x: FloatArray, k: FloatArray, s: list[FloatArray]) -> FloatArray:
    """exp(r) for x = k ln2 + r, into k's array; uses s[2] to s[5]."""
    hi, r, z, p = s[2], s[3], s[4], s[5]
    np.multiply(k, _LN2_HI, out=hi)
    np.subtract(x, hi, out=hi)
    lo = k
    np.multiply(k, _LN2_LO, out=lo)
    np.subtract(hi, lo, out=r)
    np.multiply(r, r, out=z)
    np.multiply(z, _P5, out=p)
    for coefficient in (_P4, _P3, _P2, _P1):
        np.add(p, coefficient, out=p)
        np.multiply(p, z, out=p)
    np.subtract(r, p, out=p)  # c
    np.subtract(2.0, p, out=z)
    np.multiply(r, p, out=r)
    np.divide(r, z, out=r)
    np.subtract(lo, r, out=lo)
    np.subtract(lo, hi, out=lo)
    np.subtract(1.0, lo, out=lo)
    return lo


def _exp_special(x: FloatArray) -> FloatArray:
    """The C's branches where 2^k exp(r) would not be normal, or x is not finite."""
    result = np.where(x > _EXP_OVER, np.inf, x + x)  # nan, and +inf
    result[x < _EXP_UNDER] = 0.0
    edge = np.flatnonzero((x >= _EXP_UNDER) & (x <= _EXP_OVER))
    if len(edge):
        xe = x[edge]
        t = xe * _INV_LN2 + _SHIFT
        k = t - _SHIFT
        up = k > 0.0
        y = _bits(_exp_core(xe, k.copy(), _small_scratch(len(edge))))
        tb = _bits(t)
        # k = 1024: 2^1023 then * 2; k < -1021: 2^(k + 1000) then * 2^-1000, one rounding
        high = (y + ((tb - _U(1)) << _52)).view(np.float64) * 2.0
        low = (y + ((tb + _U(1000)) << _52)).view(np.float64) * _TWO_POW_MINUS_1000
        result[edge] = np.where(up, high, low)
    return result


def exp(x: npt.ArrayLike, out: FloatArray | None = None) -> FloatArray:
    """e ** x, elementwise, faithfully rounded; bce_exp's bits."""
    source, target, returned = _prepare(x, out)
    s, flags = _scratch.floats, _scratch.flags
    with np.errstate(all="ignore"):
        for start in range(0, len(source), BLOCK):
            xs = source[start : start + BLOCK]
            n = len(xs)
            b = [a[:n] for a in s]
            t, k = b[0], b[1]
            np.multiply(xs, _INV_LN2, out=t)
            np.add(t, _SHIFT, out=t)
            check = _bits(b[6])
            np.subtract(_bits(t), _EXP_LOW_BITS, out=check)
            rare = np.flatnonzero(np.greater(check, _EXP_SPAN, out=flags[:n]))
            special = xs[rare]
            np.subtract(t, _SHIFT, out=k)
            y = _exp_core(xs, k, b)
            tb = _bits(t)
            np.left_shift(tb, _52, out=tb)  # k << 52, modulo 2^64
            block = target[start : start + n]
            np.add(_bits(y), tb, out=_bits(block))
            if len(rare):
                block[rare] = _exp_special(special)
    return returned
