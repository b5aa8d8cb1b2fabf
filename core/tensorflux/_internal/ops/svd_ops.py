"""``Svd``: the singular value decomposition of (batches of) matrices, as TF's op of that name.

``a[..., M, N] = u @ diag(s) @ transpose(v)`` with ``s`` descending and non-negative. With ``compute_uv=False``
only ``s`` is computed and ``u``, ``v`` are empty, as in TF. The gradient reaches ``a`` through ``s``
(``u @ diag(ds) @ transpose(v)``, TF's formula for ``compute_uv=False``); a gradient arriving through ``u`` or
``v`` is refused, naming the op. The matrix 2-norm (``tf.norm(ord=2, axis=[-2, -1])``) is built on it.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op
from ..shapes import TensorShape
from . import array_ops, math_ops
from .common import define, gradient
from .grad_util import is_zero_filler

SVD_T = (dt.float32, dt.float64)


def _svd_shape(op: Any) -> list:
    a = op.inputs[0].shape
    if a.rank is None:
        return [TensorShape(None)] * 3
    if a.rank < 2:
        raise ValueError(f"Svd '{op.name}': the input must have rank >= 2 (a batch of matrices), got shape {a}")
    *batch, m, n = a.dims
    p = None if m is None or n is None else min(m, n)
    if not op.attrs["compute_uv"]:
        return [TensorShape(batch + [p]), TensorShape([0]), TensorShape([0])]
    full = op.attrs["full_matrices"]
    return [TensorShape(batch + [p]), TensorShape(batch + [m, m if full else p]),
            TensorShape(batch + [n, n if full else p])]


define("Svd", ["input: T"], ["s: T", "u: T", "v: T"],
       {"T": ("type", None, SVD_T), "compute_uv": ("bool", True), "full_matrices": ("bool", False)},
       shape=_svd_shape, doc="Singular values s (descending) and, with compute_uv, the vectors u and v.")


@gradient("Svd")
def _svd_grad(op: Any, grad_s: Tensor, grad_u: Tensor, grad_v: Tensor) -> list:
    if op.get_attr("compute_uv") and not (is_zero_filler(grad_u) and is_zero_filler(grad_v)):
        raise LookupError(f"Svd '{op.name}': gradients through the singular vectors u and v are not implemented; "
                          "only the singular values s are differentiable here")
    s, u, v = svd(op.inputs[0], full_matrices=False, compute_uv=True)
    del s
    # d(sum g_i s_i) / da = u diag(g) v^T, for distinct singular values.
    return [math_ops.matmul(math_ops.multiply(u, array_ops.expand_dims(grad_s, -2)), v, transpose_b=True)]


def svd(tensor: Any, full_matrices: bool = False, compute_uv: bool = True, name: str | None = None) -> Any:
    """``(s, u, v)`` with ``tensor = u @ diag(s) @ transpose(v)``, or ``s`` alone when ``compute_uv`` is False.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.svd([[3.0, 0.0], [0.0, -4.0]], compute_uv=False))
        array([4., 3.], dtype=float32)
    """
    s, u, v = apply_op("Svd", tensor, compute_uv=bool(compute_uv), full_matrices=bool(full_matrices),
                       name=name or "Svd")
    return (s, u, v) if compute_uv else s
