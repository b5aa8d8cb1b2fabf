"""Matrix products through cuBLAS (cupy's ``matmul``) and the float reductions, without the reference kernels'
extra casts.

float16 products and sums accumulate in float32 and round once, as TF's GPU kernels.
"""

from __future__ import annotations

from typing import Any, Callable

from ..backend import ArrayBackend
from .common import computed, host_ints, like


def axes_of(x: Any, axes: Any) -> tuple[int, ...]:
    """A reduction's axes (a host or device array, negative allowed) as non-negative Python ints.

    Example:
        >>> import numpy as np
        >>> axes_of(np.zeros((2, 3)), np.array([-1]))
        (1,)
    """
    ndim = len(x.shape)
    return tuple(sorted({a % ndim if ndim else a for a in host_ints(axes)}))


def kernels(backend: ArrayBackend) -> dict[str, Callable]:
    """``{op: kernel}`` for MatMul, BatchMatMulV2, Sum and Mean over ``backend``'s namespace.

    Example:
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> kernels(ArrayBackend(np))["MatMul"](np.ones((2, 3)), np.ones((2, 3)), transpose_a=False,
        ...                                      transpose_b=True).tolist()
        [[3.0, 3.0], [3.0, 3.0]]
    """
    xp = backend.xp

    def product(a, b, ta: bool, tb: bool):
        u, v = computed(xp, a), computed(xp, b)
        return like(xp, xp.matmul(xp.matrix_transpose(u) if ta else u, xp.matrix_transpose(v) if tb else v), a)

    def matmul(a, b, *, transpose_a, transpose_b):
        return product(a, b, transpose_a, transpose_b)

    def batch_matmul(x, y, *, adj_x, adj_y):
        return product(x, y, adj_x, adj_y)

    def reduce_sum(x, axes, *, keep_dims):
        return like(xp, xp.sum(computed(xp, x), axis=axes_of(x, axes), keepdims=keep_dims), x)

    def reduce_mean(x, axes, *, keep_dims):
        ax = axes_of(x, axes)
        count = 1
        for a in ax:
            count *= x.shape[a]
        total = xp.sum(computed(xp, x), axis=ax, keepdims=keep_dims)
        return like(xp, total / count if count else total / 0.0, x)  # 0 / 0: nan, as TF's mean of nothing

    return {"MatMul": matmul, "BatchMatMulV2": batch_matmul, "Sum": reduce_sum, "Mean": reduce_mean}
