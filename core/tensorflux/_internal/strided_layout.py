"""How a device kernel walks C-contiguous buffers, worked out on the host once for every device.

- **Strides**: the element strides of a C-contiguous shape, and the fewest dims a strided walk needs after
  dropping size-1 dims and merging neighbours every operand walks contiguously.
- **Broadcasting**: whether a kernel over operands broadcast to one shape can read each at ``i * step``
  (flat), or needs per-operand strides over a fixed number of dims (strided).
- **Reshape and reductions**: a reshape's target with its ``-1`` resolved, and reduction axes as the middle of
  an ``[outer, reduced, inner]`` view, which one kernel covers whatever the rank.

Plain integers and tuples only: nothing here knows a device or a graph.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence


def contiguous_strides(shape: Sequence[int]) -> list[int]:
    """Element strides of a C-contiguous array of ``shape``.

    Example:
        >>> contiguous_strides((2, 3, 4))
        [12, 4, 1]
    """
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def collapse(dims: Sequence[int], strides: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 dims and merge neighbours that every operand walks contiguously (or not at all).

    ``strides`` holds one element-stride list per operand, aligned with ``dims``; the walk is the same after.

    Example:
        >>> collapse([2, 3, 4], [[12, 4, 1], [0, 0, 1]])
        ([6, 4], [[4, 1], [0, 1]])
    """
    keep = [i for i, d in enumerate(dims) if d != 1]
    dims = [dims[i] for i in keep]
    strides = [[s[i] for i in keep] for s in strides]
    out_dims: list[int] = []
    out_strides: list[list[int]] = [[] for _ in strides]
    for i, d in enumerate(dims):
        if out_dims and all(merged[-1] == s[i] * d for merged, s in zip(out_strides, strides)):
            out_dims[-1] *= d
            for merged, s in zip(out_strides, strides):
                merged[-1] = s[i]
            continue
        out_dims.append(d)
        for merged, s in zip(out_strides, strides):
            merged.append(s[i])
    return out_dims, out_strides


@functools.lru_cache(maxsize=4096)
def broadcast_plan(out_shape: tuple, in_shapes: tuple, max_dims: int) -> tuple:
    """How a kernel walks inputs of ``in_shapes`` broadcast to ``out_shape``, over at most ``max_dims`` dims.

    Returns ``("flat", steps)``, each input read at ``i * step`` (step 1: same size, 0: one element), or
    ``("strided", dims, strides)`` with ``max_dims`` dims (leading 1s pad) and one stride tuple per input.
    Raises ValueError when the walk needs more dims than ``max_dims`` even after :func:`collapse`.

    Example:
        >>> broadcast_plan((2, 3), ((2, 3), ()), 4)
        ('flat', (1, 0))
        >>> broadcast_plan((2, 3), ((2, 3), (3,)), 4)
        ('strided', (1, 1, 2, 3), ((0, 0, 3, 1), (0, 0, 0, 1)))
    """
    size = math.prod(out_shape)
    sizes = [math.prod(s) for s in in_shapes]
    if all(s == size or s == 1 for s in sizes):
        return ("flat", tuple(1 if s == size and size != 1 else 0 for s in sizes))
    nd = len(out_shape)
    aligned = []
    for shape in in_shapes:
        full = (1,) * (nd - len(shape)) + tuple(shape)
        cs = contiguous_strides(full)
        aligned.append([0 if full[i] == 1 else cs[i] for i in range(nd)])
    dims, strides = collapse(list(out_shape), aligned)
    if len(dims) > max_dims:
        raise ValueError(f"broadcasting {list(in_shapes)} to {list(out_shape)} needs {len(dims)} dimensions after "
                         f"merging; the kernels index at most {max_dims}")
    pad = max_dims - len(dims)
    return ("strided", tuple([1] * pad + dims), tuple(tuple([0] * pad + s) for s in strides))


def resolve_reshape(target: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    """The shape a reshape of a tensor of ``shape`` to ``target`` gives, its one ``-1`` (if any) resolved.

    Raises ValueError naming both shapes and why when no such shape exists.

    Example:
        >>> resolve_reshape([-1, 4], (2, 6))
        (3, 4)
    """
    target = [int(d) for d in target]
    size = math.prod(shape)
    known = math.prod(d for d in target if d != -1)
    why = ""
    if target.count(-1) > 1:
        why = "more than one -1"
    elif -1 in target and (known == 0 or size % known):
        why = f"{size} is not a multiple of {known}"
    elif -1 not in target and known != size:
        why = f"the target has {known} elements"
    if why:
        raise ValueError(f"cannot reshape a tensor of shape {list(shape)} ({size} elements) into shape {target}: "
                         f"{why}")
    return tuple(size // known if d == -1 else d for d in target)


def reduction_axes(shape: Sequence[int], axes: Sequence[int]) -> list[int]:
    """``axes`` of a reduction over ``shape`` as sorted, distinct non-negative axes (a scalar reduces axis 0).

    Example:
        >>> reduction_axes((2, 3, 4), [-1, 0, 2])
        [0, 2]
    """
    rank = len(shape)
    out = set()
    for a in axes:
        if not -max(rank, 1) <= a < max(rank, 1):
            raise ValueError(f"reduction axis {a} is out of range for a tensor of shape {list(shape)}")
        out.add(a % rank if rank else 0)
    return sorted(out)


def reduction_layout(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, int, int] | None:
    """``(outer, reduced, inner)`` sizes that view ``shape`` with ``axes`` as its middle, or None when the
    reduced axes are not one contiguous run (size-1 dims aside): then a transpose must move them together first.

    Example:
        >>> reduction_layout((2, 3, 4), [1]), reduction_layout((2, 1, 3, 4), [0, 2])
        ((2, 3, 4), (1, 6, 4))
        >>> print(reduction_layout((2, 3, 4), [0, 2]))
        None
    """
    groups: list[list] = []  # runs of [is_reduced, size]
    for i, d in enumerate(shape):
        if d == 1:
            continue
        reduced = i in axes
        if groups and groups[-1][0] == reduced:
            groups[-1][1] *= d
        else:
            groups.append([reduced, d])
    if sum(1 for reduced, _ in groups if reduced) > 1:
        return None
    outer, red, inner, seen = 1, 1, 1, False
    for reduced, d in groups:
        if reduced:
            red, seen = d, True
        elif seen:
            inner *= d
        else:
            outer *= d
    return outer, red, inner
