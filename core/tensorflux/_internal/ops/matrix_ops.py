"""Diagonal and band ops on (batches of) matrices: ``MatrixBandPart``, ``MatrixDiag``, ``MatrixDiagPart``,
``MatrixSetDiag`` and the full-tensor ``Diag`` / ``DiagPart``, with gradients, and ``eye`` built from them as TF
1.x builds it (the TF 1.15 ops: the main diagonal only, no ``k`` offsets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, convert_to_tensor
from ..shapes import TensorShape
from . import array_ops
from .common import define, gradient, same_shape

IDX = (dt.int32, dt.int64)
DIAG_T = (dt.bfloat16, dt.float16, dt.float32, dt.float64, dt.int32, dt.int64)


def _matrix_rank_check(op: Any, shape: TensorShape, least: int) -> None:
    if shape.rank is not None and shape.rank < least:
        raise ValueError(f"{op.type} '{op.name}': input must have rank >= {least}, got shape {shape}")


def _band_part_shape(op: Any) -> TensorShape:
    _matrix_rank_check(op, op.inputs[0].shape, 2)
    for t, what in ((op.inputs[1], "num_lower"), (op.inputs[2], "num_upper")):
        if t.shape.rank not in (None, 0):
            raise ValueError(f"MatrixBandPart '{op.name}': {what} must be a scalar, got shape {t.shape}")
    return same_shape(op)


def _matrix_diag_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    _matrix_rank_check(op, shape, 1)
    return TensorShape(None) if shape.rank is None else TensorShape(list(shape.dims) + [shape.dims[-1]])


def _diag_length(m: Any, n: Any) -> Any:
    return None if m is None or n is None else min(m, n)


def _matrix_diag_part_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    _matrix_rank_check(op, shape, 2)
    if shape.rank is None:
        return TensorShape(None)
    return TensorShape(list(shape.dims[:-2]) + [_diag_length(shape.dims[-2], shape.dims[-1])])


def _matrix_set_diag_shape(op: Any) -> TensorShape:
    shape, diag = op.inputs[0].shape, op.inputs[1].shape
    _matrix_rank_check(op, shape, 2)
    if shape.rank is not None:
        expected = TensorShape(list(shape.dims[:-2]) + [_diag_length(shape.dims[-2], shape.dims[-1])])
        if not expected.is_compatible_with(diag):
            raise ValueError(f"MatrixSetDiag '{op.name}': diagonal must have shape {expected} for input {shape}, "
                             f"got {diag}")
    return same_shape(op)


def _diag_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    return TensorShape(None) if shape.rank is None else TensorShape(list(shape.dims) * 2)


def _diag_part_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    if shape.rank is None:
        return TensorShape(None)
    half = shape.rank // 2
    if shape.rank % 2 or not TensorShape(shape.dims[:half]).is_compatible_with(TensorShape(shape.dims[half:])):
        raise ValueError(f"DiagPart '{op.name}': input must have an even rank and shape D + D, got {shape}")
    return TensorShape(TensorShape(shape.dims[:half]).merge_with(TensorShape(shape.dims[half:])).dims)


define("MatrixBandPart", ["input: T", "num_lower: Tindex", "num_upper: Tindex"], ["band: T"],
       {"T": "type", "Tindex": ("type", "int64", IDX)}, shape=_band_part_shape)
define("MatrixDiag", ["diagonal: T"], ["output: T"], {"T": "type"}, shape=_matrix_diag_shape)
define("MatrixDiagPart", ["input: T"], ["diagonal: T"], {"T": "type"}, shape=_matrix_diag_part_shape)
define("MatrixSetDiag", ["input: T", "diagonal: T"], ["output: T"], {"T": "type"}, shape=_matrix_set_diag_shape)
define("Diag", ["diagonal: T"], ["output: T"], {"T": ("type", None, DIAG_T)}, shape=_diag_shape)
define("DiagPart", ["input: T"], ["diagonal: T"], {"T": ("type", None, DIAG_T)}, shape=_diag_part_shape)


@gradient("MatrixBandPart")
def _band_part_grad(op: Any, grad: Tensor) -> list:
    return [apply_op("MatrixBandPart", grad, op.inputs[1], op.inputs[2])[0], None, None]


@gradient("MatrixDiag")
def _matrix_diag_grad(op: Any, grad: Tensor) -> list:
    return [matrix_diag_part(grad)]


@gradient("MatrixDiagPart")
def _matrix_diag_part_grad(op: Any, grad: Tensor) -> list:
    dims = op.inputs[0].shape.dims
    if dims is not None and None not in dims[-2:] and dims[-2] == dims[-1]:
        return [matrix_diag(grad)]
    return [matrix_set_diag(array_ops.zeros_like(op.inputs[0]), grad)]


@gradient("MatrixSetDiag")
def _matrix_set_diag_grad(op: Any, grad: Tensor) -> list:
    return [matrix_set_diag(grad, array_ops.zeros_like(op.inputs[1])), matrix_diag_part(grad)]


@gradient("Diag")
def _diag_grad(op: Any, grad: Tensor) -> list:
    return [diag_part(grad)]


@gradient("DiagPart")
def _diag_part_grad(op: Any, grad: Tensor) -> list:
    return [diag(grad)]


# -- Python wrappers ----------------------------------------------------------------------------------------
def matrix_band_part(input: Any, num_lower: Any, num_upper: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Keep the band of each innermost matrix: ``num_lower`` subdiagonals and ``num_upper`` superdiagonals
    (negative: all of them); zero the rest.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.matrix_band_part([[1, 2, 3], [4, 5, 6]], 0, -1))  # upper triangle
        array([[1, 2, 3],
               [0, 5, 6]], dtype=int32)
    """
    lower = num_lower if isinstance(num_lower, Tensor) else np.asarray(num_lower, np.int64)
    upper = num_upper if isinstance(num_upper, Tensor) else np.asarray(num_upper, np.int64)
    return apply_op("MatrixBandPart", input, lower, upper, name=name or "MatrixBandPart")[0]


def matrix_diag(diagonal: Any, name: str | None = None) -> Tensor:
    """Square matrices with ``diagonal``'s innermost vectors on their diagonals, zero elsewhere.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.matrix_diag([1, 2]))
        array([[1, 0],
               [0, 2]], dtype=int32)
    """
    return apply_op("MatrixDiag", diagonal, name=name or "MatrixDiag")[0]


def matrix_diag_part(input: Any, name: str | None = None) -> Tensor:  # noqa: A002 - TF's name
    """The main diagonal of each innermost matrix (``min(rows, columns)`` long).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.matrix_diag_part([[1, 2, 3], [4, 5, 6]]))
        array([1, 5], dtype=int32)
    """
    return apply_op("MatrixDiagPart", input, name=name or "MatrixDiagPart")[0]


def matrix_set_diag(input: Any, diagonal: Any, name: str | None = None) -> Tensor:  # noqa: A002 - TF's name
    """``input`` with the main diagonal of each innermost matrix replaced by ``diagonal``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.matrix_set_diag([[1, 2], [3, 4]], [9, 9]))
        array([[9, 2],
               [3, 9]], dtype=int32)
    """
    return apply_op("MatrixSetDiag", input, diagonal, name=name or "MatrixSetDiag")[0]


def diag(diagonal: Any, name: str | None = None) -> Tensor:
    """The tensor of shape ``D + D`` with ``diagonal`` (shape ``D``) on its diagonal (op ``Diag``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.diag([1, 2]))
        array([[1, 0],
               [0, 2]], dtype=int32)
    """
    return apply_op("Diag", diagonal, name=name or "Diag")[0]


def diag_part(input: Any, name: str | None = None) -> Tensor:  # noqa: A002 - TF's name
    """The diagonal of a tensor of shape ``D + D`` (op ``DiagPart``), the inverse of :func:`diag`.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.diag_part([[1, 2], [3, 4]]))
        array([1, 4], dtype=int32)
    """
    return apply_op("DiagPart", input, name=name or "DiagPart")[0]


def eye(num_rows: Any, num_columns: Any = None, batch_shape: Any = None, dtype: Any = dt.float32,
        name: str | None = None) -> Tensor:
    """Identity matrices (``batch_shape + [num_rows, num_columns]``), as TF builds them: ``MatrixDiag`` of ones
    when square, else ``MatrixSetDiag`` of ones into zeros.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.eye(2, 3, dtype=tf.int32))
        array([[1, 0, 0],
               [0, 1, 0]], dtype=int32)
    """
    from .math_ops import minimum

    with name_scope(name or "eye"):
        is_square = num_columns is None
        batch = [] if batch_shape is None else batch_shape
        num_columns = num_rows if num_columns is None else num_columns
        if isinstance(num_rows, Tensor) or isinstance(num_columns, Tensor):
            size = minimum(num_rows, num_columns)
        else:
            if not isinstance(num_rows, (int, np.integer)) or not isinstance(num_columns, (int, np.integer)):
                raise TypeError(f"eye: num_rows and num_columns must be integers, got {num_rows!r} and "
                                f"{num_columns!r}")
            is_square = num_rows == num_columns
            size = min(int(num_rows), int(num_columns))
        if isinstance(batch, Tensor) or isinstance(size, Tensor):
            batch = convert_to_tensor(batch, dtype=dt.int32)
            diag_shape = array_ops.concat([batch, array_ops.reshape(size, [1])], 0)
            full = None if is_square else array_ops.concat([batch, array_ops.stack([num_rows, num_columns])], 0)
        else:
            diag_shape = list(batch) + [size]
            full = None if is_square else list(batch) + [int(num_rows), int(num_columns)]
        ones = array_ops.ones(diag_shape, dtype=dtype)
        if is_square:
            return matrix_diag(ones)
        return matrix_set_diag(array_ops.zeros(full, dtype=dtype), ones)
