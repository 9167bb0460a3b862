"""Arrow arrays as numpy views, without pyarrow's ``to_numpy`` (which imports pandas: 0.3 s).

Values under a null are whatever the buffer holds; callers mask nulls themselves.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    BoolArray = npt.NDArray[np.bool_]
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")


@functools.cache
def _numpy_types() -> dict[pa.DataType, Any]:
    """Arrow's primitive numeric types and their numpy dtypes (built on first use, so
    importing this module loads neither library)."""
    return {
        pa.int8(): np.int8,
        pa.int16(): np.int16,
        pa.int32(): np.int32,
        pa.int64(): np.int64,
        pa.uint8(): np.uint8,
        pa.uint16(): np.uint16,
        pa.uint32(): np.uint32,
        pa.uint64(): np.uint64,
        pa.float16(): np.float16,
        pa.float32(): np.float32,
        pa.float64(): np.float64,
    }


def numeric_values(array: pa.Array) -> npt.NDArray[Any]:
    """The value buffer of a primitive numeric array as a (read-only) numpy view."""
    dtype = np.dtype(_numpy_types()[array.type])
    buffer = array.buffers()[1]
    if buffer is None:
        return np.zeros(len(array), dtype)
    return np.frombuffer(
        buffer, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize
    )


def is_numeric(kind: pa.DataType) -> bool:
    return kind in _numpy_types()


def bool_values(array: pa.Array) -> BoolArray:
    """A boolean array's values (False under nulls is not guaranteed; mask them)."""
    buffer = array.buffers()[1]
    if buffer is None:
        return np.zeros(len(array), dtype=bool)
    return _bits(buffer, array.offset, len(array))


def null_mask(array: pa.Array) -> BoolArray | None:
    """True where the array is null; None when nothing is."""
    if array.null_count == 0:
        return None
    validity = array.buffers()[0]
    if validity is None:  # a null-typed array: all null
        return np.ones(len(array), dtype=bool)
    mask: BoolArray = ~_bits(validity, array.offset, len(array))
    return mask


def _bits(buffer: pa.Buffer, offset: int, length: int) -> BoolArray:
    # Unpack only the bytes covering this slice: a slice shares its parent's buffer.
    first, skip = divmod(offset, 8)
    packed = np.frombuffer(buffer, dtype=np.uint8)[first : first + (skip + length + 7) // 8]
    unpacked = np.unpackbits(packed, bitorder="little")[skip : skip + length]
    result: BoolArray = unpacked.view(np.bool_)
    return result
