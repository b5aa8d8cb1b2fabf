"""Strided-slice index specs: TF's (begin, end, strides, masks) encoding to and from Python indices."""

from __future__ import annotations

from typing import Any

import numpy as np


def index_from_spec(begin: Any, end: Any, strides: Any, begin_mask: int, end_mask: int, ellipsis_mask: int,
                    new_axis_mask: int, shrink_axis_mask: int) -> tuple:
    """Turn StridedSlice's inputs and masks into a numpy index tuple.

    Example:
        >>> from tensorflux.extend import index_from_spec
        >>> index_from_spec([0, 1], [0, 3], [1, 1], 1, 1, 0, 0, 0)
        (slice(None, None, 1), slice(1, 3, 1))
    """
    index = []
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif shrink_axis_mask & bit:
            index.append(int(begin[i]))
        else:
            index.append(slice(None if begin_mask & bit else int(begin[i]),
                               None if end_mask & bit else int(end[i]), int(strides[i])))
    return tuple(index)


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
