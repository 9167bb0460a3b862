"""Per-row binary cross-entropy: pure numpy, float64, no I/O.

Each row's loss depends on that row alone (elementwise ufuncs on contiguous
float64 arrays), which is what makes the exact sums independent of chunking. The
logarithms and exponentials are bce's own (``bcecli.core.elementary``), not numpy's,
whose last bit depends on the platform: these are the same operations as the C
kernel's (``bcecli/_native/bce_loss.h``), so both paths give the same bits everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bcecli.core import elementary

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]
else:
    np = lazy("numpy")
    elementary = lazy("bcecli.core.elementary")

DEFAULT_EPS: float = 2.0**-52  # float64's machine epsilon, numpy.finfo(float64).eps


def loss_from_prob(y: BoolArray, p: FloatArray, eps: float = DEFAULT_EPS) -> FloatArray:
    """-log(p) for positives and -log1p(-p) for negatives, p clipped to [eps, 1 - eps].

    Both are -log1p(-|y - p|): for negatives y - p = -p exactly, for positives with
    p >= 0.5 it is 1 - p exactly (Sterbenz), so one log1p pass serves almost every
    row. Only positives with p < 0.5, where 1 - p would round, take -log(p) directly.
    """
    clipped = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    loss = np.subtract(y, clipped)
    np.copysign(loss, -1.0, out=loss)
    elementary.log1p(loss, out=loss)
    np.negative(loss, out=loss)
    small = np.flatnonzero(y & (clipped < 0.5))
    if len(small):
        loss[small] = np.negative(elementary.log(np.ascontiguousarray(clipped[small])))
    result: FloatArray = loss
    return result


def clipped_mask(p: FloatArray, eps: float = DEFAULT_EPS) -> BoolArray:
    """Rows whose probability clipping moves."""
    mask: BoolArray = (p < eps) | (p > 1.0 - eps)
    return mask


def softplus(x: FloatArray) -> FloatArray:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    result: FloatArray = np.maximum(x, 0.0) + elementary.log1p(elementary.exp(-np.abs(x)))
    return result


def loss_from_logit(y: BoolArray, z: FloatArray) -> FloatArray:
    """The loss of sigmoid(z) computed from z itself: softplus(-z) if y else softplus(z)."""
    z = np.asarray(z, dtype=np.float64)
    return softplus(np.where(y, np.negative(z), z))


def sigmoid(z: FloatArray) -> FloatArray:
    """1 / (1 + exp(-z)), stable for any finite z."""
    z = np.asarray(z, dtype=np.float64)
    e = elementary.exp(-np.abs(z))
    result: FloatArray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return result
