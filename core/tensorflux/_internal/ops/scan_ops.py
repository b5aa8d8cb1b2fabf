"""Ops along an axis: cumulative sums and products (``Cumsum``, ``Cumprod``, exclusive and reversed) and reversal
(``ReverseV2``, ``ReverseSequence``), with TF 1.x's gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .common import define, gradient, normalize_axis, same_shape

IDX = (dt.int32, dt.int64)


def _scan_shape(op: Any) -> TensorShape:
    shape, axis = op.inputs[0].shape, constant_value(op.inputs[1])
    if axis is not None and np.ndim(axis) != 0:
        raise ValueError(f"{op.type} '{op.name}': axis must be a scalar, got shape {list(np.shape(axis))}")
    if shape.rank is not None and axis is not None:
        normalize_axis(int(axis), shape.rank, f"{op.type} axis")
    return shape


for _name in ("Cumsum", "Cumprod"):
    define(_name, ["x: T", "axis: Tidx"], ["out: T"],
           {"exclusive": ("bool", False), "reverse": ("bool", False), "T": ("type", None, dt.NUMERIC),
            "Tidx": ("type", "int32", IDX)}, shape=_scan_shape)


@gradient("Cumsum")
def _cumsum_grad(op: Any, grad: Tensor) -> list:
    # Each x_i contributed to every output after it (before it, reversed): sum the gradient the other way.
    return [cumsum(grad, op.inputs[1], exclusive=op.attrs["exclusive"], reverse=not op.attrs["reverse"]), None]


@gradient("Cumprod")
def _cumprod_grad(op: Any, grad: Tensor) -> list:
    # TF's formula: divides by x, so it is NaN or inf where x is 0, as in TF.
    from .math_ops import divide, multiply

    x, axis = op.inputs
    exclusive, reverse = op.attrs["exclusive"], op.attrs["reverse"]
    prod = cumprod(x, axis, exclusive=exclusive, reverse=reverse)
    summed = cumsum(multiply(prod, grad), axis, exclusive=exclusive, reverse=not reverse)
    return [divide(summed, x), None]


def _reverse_shape(op: Any) -> TensorShape:
    shape, axes = op.inputs[0].shape, constant_value(op.inputs[1])
    if shape.rank is not None and axes is not None:
        seen = [normalize_axis(int(a), shape.rank, "ReverseV2 axis") for a in np.reshape(axes, -1)]
        if len(set(seen)) != len(seen):
            raise ValueError(f"ReverseV2 '{op.name}': axis {np.reshape(axes, -1).tolist()} names a dimension twice")
    return shape


define("ReverseV2", ["tensor: T", "axis: Tidx"], ["output: T"], {"T": "type", "Tidx": ("type", "int32", IDX)},
       shape=_reverse_shape)


@gradient("ReverseV2")
def _reverse_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("ReverseV2", grad, op.inputs[1])[0], None]


def _reverse_sequence_shape(op: Any) -> TensorShape:
    shape, lengths = op.inputs[0].shape, op.inputs[1].shape
    if shape.rank is not None:
        batch = shape.dims[normalize_axis(op.attrs["batch_dim"], shape.rank, "ReverseSequence batch_dim")]
        normalize_axis(op.attrs["seq_dim"], shape.rank, "ReverseSequence seq_dim")
        if lengths.rank not in (None, 1) or not TensorShape([batch]).is_compatible_with(lengths.dims[:1] or [None]):
            raise ValueError(f"ReverseSequence '{op.name}': seq_lengths must be a vector of the batch size {batch}, "
                             f"got shape {lengths}")
    return same_shape(op)


define("ReverseSequence", ["input: T", "seq_lengths: Tlen"], ["output: T"],
       {"seq_dim": "int", "batch_dim": ("int", 0), "T": "type", "Tlen": ("type", "int64", IDX)},
       shape=_reverse_sequence_shape)


@gradient("ReverseSequence")
def _reverse_sequence_grad(op: Any, grad: Tensor) -> list:
    lengths = op.inputs[1]
    return [apply_op("ReverseSequence", grad, lengths, seq_dim=op.attrs["seq_dim"],
                     batch_dim=op.attrs["batch_dim"])[0], None]


# -- Python wrappers ----------------------------------------------------------------------------------------
def cumsum(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, name: str | None = None) -> Tensor:
    """Cumulative sum along ``axis``; ``exclusive`` leaves each element out of its own sum, ``reverse`` sums
    from the end.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.cumsum([1, 2, 3], exclusive=True, reverse=True))
        array([5, 3, 0], dtype=int32)
    """
    return apply_op("Cumsum", x, axis, exclusive=bool(exclusive), reverse=bool(reverse), name=name or "Cumsum")[0]


def cumprod(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, name: str | None = None) -> Tensor:
    """Cumulative product along ``axis`` (``exclusive`` and ``reverse`` as in :func:`cumsum`).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.cumprod([1, 2, 3], exclusive=True))
        array([1, 1, 2], dtype=int32)
    """
    return apply_op("Cumprod", x, axis, exclusive=bool(exclusive), reverse=bool(reverse), name=name or "Cumprod")[0]


def reverse(tensor: Any, axis: Any, name: str | None = None) -> Tensor:
    """Reverse ``tensor`` along each dimension in ``axis`` (op ``ReverseV2``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.reverse([[1, 2], [3, 4]], [1]))
        array([[2, 1],
               [4, 3]], dtype=int32)
    """
    return apply_op("ReverseV2", tensor, np.asarray(axis, np.int32) if not isinstance(axis, Tensor) else axis,
                    name=name or "ReverseV2")[0]


def reverse_sequence(input: Any, seq_lengths: Any, seq_axis: int | None = None,  # noqa: A002 - TF's name
                     batch_axis: int | None = None, name: str | None = None, seq_dim: int | None = None,
                     batch_dim: int | None = None) -> Tensor:
    """Reverse the first ``seq_lengths[b]`` elements along ``seq_axis`` of each slice ``b`` along ``batch_axis``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.reverse_sequence([[1, 2, 3], [4, 5, 6]], [2, 3], seq_axis=1, batch_axis=0))
        array([[2, 1, 3],
               [6, 5, 4]], dtype=int32)
    """
    seq = seq_axis if seq_axis is not None else seq_dim
    batch = batch_axis if batch_axis is not None else (batch_dim if batch_dim is not None else 0)
    if seq is None:
        raise ValueError("reverse_sequence: seq_axis (or seq_dim) is required")
    # A Python list becomes int64, the op's default length type, as in TF.
    lengths = convert_to_tensor(seq_lengths) if hasattr(seq_lengths, "dtype") else np.asarray(seq_lengths, np.int64)
    return apply_op("ReverseSequence", input, lengths, seq_dim=int(seq), batch_dim=int(batch),
                    name=name or "ReverseSequence")[0]
