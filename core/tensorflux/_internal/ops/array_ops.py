"""Array ops in one namespace, as in TF: the base array ops plus the shape and slicing families.

Each family keeps its ops' definitions, shape functions, gradients and wrappers in its own module
(``base_array_ops``, ``shape_ops``, ``slice_ops``); this module only re-exports their wrappers.

Example:
    >>> from tensorflux._internal.ops import array_ops
    >>> array_ops.reshape is array_ops.shape_ops.reshape
    True
"""

from . import shape_ops as shape_ops, slice_ops as slice_ops
from .base_array_ops import (
    IDX as IDX,
    constant as constant,
    fill as fill,
    identity as identity,
    identity_n as identity_n,
    one_hot as one_hot,
    ones as ones,
    ones_like as ones_like,
    placeholder as placeholder,
    placeholder_with_default as placeholder_with_default,
    range as range,  # noqa: A004
    rank as rank,
    shape as shape,
    size as size,
    stop_gradient as stop_gradient,
    where as where,
    zeros as zeros,
    zeros_like as zeros_like,
)
from .shape_ops import (
    concat as concat,
    expand_dims as expand_dims,
    reshape as reshape,
    split as split,
    squeeze as squeeze,
    stack as stack,
    tile as tile,
    transpose as transpose,
    unstack as unstack,
)
from .slice_ops import (
    gather as gather,
    getitem as getitem,
    pad as pad,
    slice as slice,
    strided_slice as strided_slice,
)
