"""Strided-slice index specs: TF's (begin, end, strides, masks) encoding to and from Python indices."""

from __future__ import annotations

from typing import Any

import numpy as np

# The spec -> index direction is shared with device kernels (tensorflux.extend), so it lives in geometry.
from ..geometry import strided_slice_index as index_from_spec  # noqa: F401 - re-exported to slice_ops


def spec_from_index(key: Any) -> tuple[list, list, list, dict]:
    """Turn a Python ``__getitem__`` key (ints, slices, None, Ellipsis) into StridedSlice inputs and masks.

    Ints and slice bounds may be Tensors; the returned lists then hold them for packing.
    """
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    for i, k in enumerate(key):
        bit = 1 << i
        if k is Ellipsis:
            masks["ellipsis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif k is None:
            masks["new_axis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif isinstance(k, slice):
            step = 1 if k.step is None else k.step
            if isinstance(step, (int, np.integer)) and step == 0:
                raise ValueError("slice step cannot be zero")
            if k.start is None:
                masks["begin_mask"] |= bit
            if k.stop is None:
                masks["end_mask"] |= bit
            begin.append(0 if k.start is None else k.start)
            end.append(0 if k.stop is None else k.stop)
            strides.append(step)
        else:
            if isinstance(k, (bool, float)) or (isinstance(k, np.ndarray) and k.dtype.kind not in "iu"):
                raise TypeError(f"Only integers, slices, None and Ellipsis are valid indices, got {k!r}")
            masks["shrink_axis_mask"] |= bit
            begin.append(k)
            end.append(k + 1 if isinstance(k, (int, np.integer)) else 0)
            strides.append(1)
    return begin, end, strides, masks


def sliced_dims(dims: list, index: tuple) -> list | None:
    """Output dims of ``x[index]`` for partially known input ``dims`` (None entries unknown)."""
    n_specified = sum(1 for k in index if k is not None and k is not Ellipsis)
    out: list = []
    pos = 0
    seen_ellipsis = False
    for k in index:
        if k is Ellipsis:
            if seen_ellipsis:
                raise ValueError("an index can only have one ellipsis")
            seen_ellipsis = True
            skip = len(dims) - n_specified
            out.extend(dims[pos:pos + skip])
            pos += skip
        elif k is None:
            out.append(1)
        elif isinstance(k, slice):
            if pos >= len(dims):
                raise ValueError(f"too many indices for a tensor of rank {len(dims)}")
            d = dims[pos]
            out.append(None if d is None else len(range(d)[k]))
            pos += 1
        else:
            if pos >= len(dims):
                raise ValueError(f"too many indices for a tensor of rank {len(dims)}")
            d = dims[pos]
            if d is not None and not -d <= k < d:
                raise ValueError(f"index {k} is out of bounds for dimension {pos} of size {d}")
            pos += 1
    out.extend(dims[pos:])
    return out
