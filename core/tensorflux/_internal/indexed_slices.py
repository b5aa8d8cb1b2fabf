"""``tf.IndexedSlices``: a row-sparse gradient, ``dense[indices[i]] += values[i]``, as TF 1.x.

Gather and embedding-lookup gradients are IndexedSlices, so optimizers can update only the rows a step
touched. Converting one to a tensor (``tf.convert_to_tensor``, or any op taking it as an input) sums the
rows into a dense tensor, warning as TF does when that tensor's size is unknown or large.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from .graph import Tensor
from .op_builder import constant_value
from .shapes import TensorShape

# TF warns about densifying only from this many elements on (or when the dense shape is unknown).
LARGE_SPARSE_NUM_ELEMENTS = 100_000_000


class IndexedSlicesValue(NamedTuple):
    """What ``Session.run`` returns for a fetched IndexedSlices: numpy values, indices and dense shape, as TF.

    Example:
        >>> import tensorflux as tf
        >>> s = tf.IndexedSlices(tf.constant([[1.0]]), tf.constant([1]), tf.constant([2, 1]))
        >>> tf.Session().run(s).indices.tolist()
        [1]
    """

    values: Any
    indices: Any
    dense_shape: Any


class IndexedSlices:
    """Slices of a dense tensor: row ``indices[i]`` of a tensor of shape ``dense_shape`` is ``values[i]``.

    Duplicate indices add. ``dense_shape`` (an int tensor) may be None when unknown, as TF allows.

    Example:
        >>> import tensorflux as tf
        >>> s = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([2, 2]), tf.constant([3, 2]))
        >>> tf.Session().run(tf.convert_to_tensor(s)).tolist()
        [[0.0, 0.0], [0.0, 0.0], [4.0, 6.0]]
    """

    def __init__(self, values: Tensor, indices: Tensor, dense_shape: Tensor | None = None) -> None:
        if not isinstance(values, Tensor) or not isinstance(indices, Tensor):
            raise TypeError(f"IndexedSlices takes values and indices as Tensors, got {type(values).__name__} and "
                            f"{type(indices).__name__}")
        if dense_shape is not None and not isinstance(dense_shape, Tensor):
            raise TypeError(f"IndexedSlices takes dense_shape as a Tensor or None, got {type(dense_shape).__name__}")
        self._values, self._indices, self._dense_shape = values, indices, dense_shape

    @property
    def values(self) -> Tensor:
        """The rows: ``indices.shape + dense_shape[1:]``."""
        return self._values

    @property
    def indices(self) -> Tensor:
        """The row of the dense tensor each entry of ``values`` belongs to (1-D int32 or int64)."""
        return self._indices

    @property
    def dense_shape(self) -> Tensor | None:
        """The shape of the dense tensor (1-D int tensor), or None."""
        return self._dense_shape

    @property
    def dtype(self) -> Any:
        """The dtype of the values."""
        return self._values.dtype

    @property
    def name(self) -> str:
        """The name of the values tensor."""
        return self._values.name

    @property
    def op(self) -> Any:
        """The op producing the values."""
        return self._values.op

    @property
    def graph(self) -> Any:
        """The graph of the values."""
        return self._values.graph

    @property
    def device(self) -> str:
        """The device of the values."""
        return self._values.device

    @property
    def shape(self) -> TensorShape:
        """The static shape of the dense tensor, as far as ``dense_shape`` is constant."""
        known = None if self._dense_shape is None else constant_value(self._dense_shape)
        if known is None:
            return TensorShape(None)
        return TensorShape([int(d) for d in np.reshape(known, -1)])

    def __repr__(self) -> str:
        shape = "None" if self._dense_shape is None else repr(self._dense_shape)
        return f"IndexedSlices(indices={self._indices!r}, values={self._values!r}, dense_shape={shape})"

    def _as_tensor(self) -> Tensor:
        """The dense tensor (``tf.convert_to_tensor`` calls this), with TF's warning when it may be large."""
        return densify(self)


def densify(slices: IndexedSlices, name: str | None = None) -> Tensor:
    """Sum ``slices`` into a dense tensor, warning as TF does when its size is unknown or past 100M elements.

    Example:
        >>> import tensorflux as tf
        >>> s = IndexedSlices(tf.constant([5.0]), tf.constant([1]), tf.constant([2]))
        >>> tf.Session().run(densify(s)).tolist()
        [0.0, 5.0]
    """
    from .ops.sparse_ops import unsorted_segment_sum

    if slices.dense_shape is None:
        raise ValueError(f"Tensor conversion requested for IndexedSlices without dense_shape: {slices!r}")
    known = constant_value(slices.dense_shape)
    if known is not None:
        num_elements = int(np.prod(known))
        if num_elements >= LARGE_SPARSE_NUM_ELEMENTS:
            warnings.warn(f"Converting sparse IndexedSlices to a dense Tensor with {num_elements} elements. This may "
                          "consume a large amount of memory.", UserWarning, stacklevel=4)
        rows = np.asarray(np.reshape(known, -1)[0], dtype=slices.dense_shape.dtype.np_dtype)
    else:
        if slices.dense_shape.op.type != "VariableShape":
            warnings.warn("Converting sparse IndexedSlices to a dense Tensor of unknown shape. This may consume a "
                          "large amount of memory.", UserWarning, stacklevel=4)
        rows = slices.dense_shape[0]
    return unsorted_segment_sum(slices.values, slices.indices, rows, name=name)
