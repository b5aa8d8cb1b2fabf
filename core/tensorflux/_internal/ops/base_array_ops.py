"""Array ops: creation, placeholders, shape manipulation, slicing, gathering and introspection."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_shape, constant_value, convert_to_tensor, make_constant
from ..shapes import TensorShape, as_shape, broadcast_shapes
from .common import define, gradient, not_differentiable, same_shape

IDX = (dt.int32, dt.int64)


def _const_shape(op: Any) -> TensorShape:
    return TensorShape(op.attrs["value"].shape)


define("Const", [], ["output: dtype"], {"value": "tensor", "dtype": "type"}, shape=_const_shape,
       differentiable=False)
define("Placeholder", [], ["output: dtype"], {"dtype": "type", "shape": ("shape", None)},
       shape=lambda op: op.attrs["shape"])
define("PlaceholderWithDefault", ["input: dtype"], ["output: dtype"], {"dtype": "type", "shape": ("shape", None)},
       shape=lambda op: op.attrs["shape"])
define("Identity", ["input: T"], ["output: T"], {"T": "type"}, shape=same_shape)
define("IdentityN", ["*input: T"], ["*output: T"], {"T": "list(type)"},
       shape=lambda op: [t.shape for t in op.inputs], doc="Each input passed through as the output of the same index.")
define("StopGradient", ["input: T"], ["output: T"], {"T": "type"}, shape=same_shape)
define("ZerosLike", ["x: T"], ["y: T"], {"T": "type"}, shape=same_shape)
define("OnesLike", ["x: T"], ["y: T"], {"T": ("type", None, dt.REAL_AND_BOOL)}, shape=same_shape)
define("Fill", ["dims: index_type", "value: T"], ["output: T"],
       {"T": "type", "index_type": ("type", "int32", IDX)}, shape=lambda op: constant_shape(op.inputs[0]))


def _range_shape(op: Any) -> TensorShape:
    vals = [constant_value(t) for t in op.inputs]
    if any(v is None for v in vals):
        return TensorShape([None])
    start, limit, delta = (v.item() for v in vals)
    if delta == 0:
        raise ValueError("range delta must not be zero")
    return TensorShape([builtins.max(0, int(np.ceil((limit - start) / delta)))])


define("Range", ["start: Tidx", "limit: Tidx", "delta: Tidx"], ["output: Tidx"],
       {"Tidx": ("type", "int32", (dt.int32, dt.int64, dt.float32, dt.float64))}, shape=_range_shape,
       differentiable=False)


def _shape_of_shape(op: Any) -> TensorShape:
    return TensorShape([op.inputs[0].shape.rank])


define("Shape", ["input: T"], ["output: out_type"], {"T": "type", "out_type": ("type", "int32", IDX)},
       shape=_shape_of_shape, differentiable=False)
define("Size", ["input: T"], ["output: out_type"], {"T": "type", "out_type": ("type", "int32", IDX)},
       shape=lambda op: TensorShape([]), differentiable=False)
define("Rank", ["input: T"], ["output: int32"], {"T": "type"}, shape=lambda op: TensorShape([]),
       differentiable=False)


def _one_hot_shape(op: Any) -> TensorShape:
    src, depth, axis = op.inputs[0].shape, constant_value(op.inputs[1]), op.attrs["axis"]
    if src.rank is None:
        return TensorShape(None)
    dims = list(src.dims)
    a = len(dims) if axis == -1 else axis
    dims.insert(a, None if depth is None else int(depth))
    return TensorShape(dims)


define("OneHot", ["indices: TI", "depth: int32", "on_value: T", "off_value: T"], ["output: T"],
       {"T": "type", "TI": ("type", "int64", (dt.uint8, dt.int32, dt.int64)), "axis": ("int", -1)},
       shape=_one_hot_shape, differentiable=False)


def _select_shape(op: Any) -> TensorShape:
    c, x, y = (t.shape for t in op.inputs)
    xy = broadcast_shapes(x, y)
    out = None if xy is None else broadcast_shapes(c, xy)
    if out is None:
        raise ValueError(f"condition, x and y must broadcast together, got shapes {c}, {x} and {y}")
    return out


define("SelectV2", ["condition: bool", "t: T", "e: T"], ["output: T"], {"T": "type"}, shape=_select_shape)
define("Where", ["input: T"], ["index: int64"], {"T": ("type", "bool")},
       shape=lambda op: TensorShape([None, op.inputs[0].shape.rank]), differentiable=False)


# -- gradients ----------------------------------------------------------------------------------
# Each op's gradient, beside its definition above: grad_fn(op, *output_grads) -> one gradient per input.
not_differentiable("StopGradient", "ZerosLike", "OnesLike")


@gradient("Identity", "PlaceholderWithDefault")
def _identity_grad(op: Any, grad: Tensor) -> list:
    return [grad]


@gradient("IdentityN")
def _identity_n_grad(op: Any, *grads: Tensor) -> list:
    return list(grads)


@gradient("Fill")
def _fill_grad(op: Any, grad: Tensor) -> list:
    from .math_ops import reduce_sum

    return [None, reduce_sum(grad)]


@gradient("SelectV2")
def _select_grad(op: Any, grad: Tensor) -> list:
    from .math_ops import unbroadcast

    condition, t, e = op.inputs
    zeros = zeros_like(grad)
    return [None, unbroadcast(where(condition, grad, zeros), t, condition, e),
            unbroadcast(where(condition, zeros, grad), e, condition, t)]


# -- Python wrappers --------------------------------------------------------------------------
def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const") -> Tensor:
    """A constant tensor; strings become bytes, Python floats float32, Python ints int32.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.constant('Hello'))
        b'Hello'
    """
    return make_constant(value, dtype=dtype, shape=shape, name=name)


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Tensor:
    """A tensor that must be fed at ``Session.run`` time.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32, shape=[None, 2])
        >>> tf.Session().run(x * 2, feed_dict={x: [[1, 2]]})
        array([[2., 4.]], dtype=float32)
    """
    return apply_op("Placeholder", dtype=dt.as_dtype(dtype), shape=as_shape(shape), name=name or "Placeholder")[0]


def placeholder_with_default(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """A placeholder that yields ``input`` when not fed.

    Example:
        >>> import tensorflux as tf
        >>> p = tf.placeholder_with_default(1.0, shape=[])
        >>> tf.Session().run(p), tf.Session().run(p, {p: 5.0})
        (1.0, 5.0)
    """
    x = convert_to_tensor(input)
    return apply_op("PlaceholderWithDefault", x, dtype=x.dtype, shape=as_shape(shape),
                    name=name or "PlaceholderWithDefault")[0]


def identity(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Return a tensor with the same value as ``input`` (a new node).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.identity([1, 2]))
        array([1, 2], dtype=int32)
    """
    return apply_op("Identity", input, name=name)[0]


def identity_n(input: Any, name: str | None = None) -> list[Tensor]:  # noqa: A002
    """Return one new tensor per tensor of the list ``input``, each with the same value (one ``IdentityN`` op).

    Example:
        >>> import tensorflux as tf
        >>> a, b = tf.identity_n([tf.constant(1), tf.constant([2.0])])
        >>> [v.tolist() for v in tf.Session().run([a, b])]
        [1, [2.0]]
    """
    return list(apply_op("IdentityN", list(input), name=name or "IdentityN"))


def stop_gradient(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Pass ``input`` through, but block gradients from flowing into it.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.stop_gradient(3.0))
        3.0
    """
    return apply_op("StopGradient", input, name=name)[0]


def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.fill([2, 2], 7))
        array([[7, 7],
               [7, 7]], dtype=int32)
    """
    return apply_op("Fill", dims, value, name=name)[0]


def _filled(shape: Any, dtype: Any, value: Any, name: str) -> Tensor:
    dtype = dt.as_dtype(dtype)
    if isinstance(shape, Tensor) or (isinstance(shape, (list, tuple)) and any(isinstance(s, Tensor) for s in shape)):
        return fill(shape, np.array(value, dtype=dtype.np_dtype), name=name)
    return make_constant(np.full(tuple(as_shape(shape).as_list()), value, dtype=dtype.np_dtype), dtype=dtype, name=name)


def zeros(shape: Any, dtype: Any = dt.float32, name: str | None = None) -> Tensor:
    """A tensor of zeros.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.zeros([2], tf.int32))
        array([0, 0], dtype=int32)
    """
    return _filled(shape, dtype, 0 if dt.as_dtype(dtype) is not dt.string else b"", name or "zeros")


def ones(shape: Any, dtype: Any = dt.float32, name: str | None = None) -> Tensor:
    """A tensor of ones.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.ones([2]))
        array([1., 1.], dtype=float32)
    """
    return _filled(shape, dtype, 1, name or "ones")


def zeros_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Zeros with the shape (and by default the dtype) of ``tensor``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.zeros_like([[1, 2]]))
        array([[0, 0]], dtype=int32)
    """
    from .math_ops import cast

    t = convert_to_tensor(tensor)
    out = apply_op("ZerosLike", t, name=name)[0]
    return out if dtype is None else cast(out, dtype)


def ones_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Ones with the shape (and by default the dtype) of ``tensor``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.ones_like([[1.0, 2.0]]))
        array([[1., 1.]], dtype=float32)
    """
    from .math_ops import cast

    t = convert_to_tensor(tensor)
    out = apply_op("OnesLike", t, name=name)[0]
    return out if dtype is None else cast(out, dtype)


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> Tensor:  # noqa: A001
    """A 1-D sequence like Python's range; ``range(5)`` means ``range(0, 5)``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.range(1, 10, 3))
        array([1, 4, 7], dtype=int32)
    """
    if limit is None:
        start, limit = 0, start
    vals = [start, limit, delta]
    if dtype is None:
        tensors = [v for v in vals if isinstance(v, Tensor)]
        if tensors:
            dtype = tensors[0].dtype
        else:
            dtype = dt.float32 if any(isinstance(v, float) for v in vals) else dt.int32
    return apply_op("Range", *vals, Tidx=dtype, name=name)[0]


def shape(input: Any, name: str | None = None, out_type: Any = dt.int32) -> Tensor:  # noqa: A002
    """The dynamic shape of ``input`` as a 1-D int tensor.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.shape(tf.zeros([2, 3])))
        array([2, 3], dtype=int32)
    """
    return apply_op("Shape", input, out_type=out_type, name=name)[0]


def size(input: Any, name: str | None = None, out_type: Any = dt.int32) -> Tensor:  # noqa: A002
    """The number of elements of ``input``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.size(tf.zeros([2, 3])))
        6
    """
    return apply_op("Size", input, out_type=out_type, name=name)[0]


def rank(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The number of dimensions of ``input``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.rank(tf.zeros([2, 3])))
        2
    """
    return apply_op("Rank", input, name=name)[0]


def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: int | None = None,
            dtype: Any = None, name: str | None = None) -> Tensor:
    """One-hot encode ``indices``; out-of-range indices give all ``off_value``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.one_hot([0, 2], 3))
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    if dtype is None:
        given = next((v for v in (on_value, off_value) if isinstance(v, Tensor)), None)
        dtype = given.dtype if given is not None else dt.float32
    dtype = dt.as_dtype(dtype)
    on = on_value if isinstance(on_value, Tensor) else np.array(1 if on_value is None else on_value, dtype=dtype.np_dtype)
    off = off_value if isinstance(off_value, Tensor) else np.array(0 if off_value is None else off_value, dtype=dtype.np_dtype)
    idx = convert_to_tensor(indices)
    return apply_op("OneHot", idx, depth, on, off, axis=-1 if axis is None else axis, name=name)[0]


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """With x and y: elementwise choose x where condition else y (broadcasting). Alone: coordinates of True.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.where([True, False], [1, 2], [9, 9]))
        array([1, 9], dtype=int32)
    """
    if x is None and y is None:
        return apply_op("Where", condition, name=name)[0]
    if x is None or y is None:
        raise ValueError("where needs both x and y, or neither")
    return apply_op("SelectV2", condition, x, y, name=name)[0]
