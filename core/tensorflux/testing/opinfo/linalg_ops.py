"""Op-info entries of the linear-algebra ops: ``Svd``.

Singular vectors are defined up to sign, so the entry with ``compute_uv`` compares what does not depend on the
signs: the singular values, the matrix rebuilt as ``u @ diag(s) @ v.T``, and the Gram matrices ``u.T @ u`` and
``v.T @ v`` (identities). Inputs are Gaussian, whose singular values are distinct, so the gradient through ``s``
is well defined.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import OpInfo
from .nn_ops import _op

SVD_SHAPES = [(3, 3), (4, 2), (2, 5), (2, 3, 4)]


def _values(x: Any) -> Any:
    return _op("Svd", x, compute_uv=False)[0]


def _np_values(x: np.ndarray) -> np.ndarray:
    return np.linalg.svd(x, compute_uv=False)


def _rebuilt(x: Any, full_matrices: bool) -> list:
    s, u, v = _op("Svd", x, compute_uv=True, full_matrices=full_matrices)
    p = min(x.shape.as_list()[-2:])
    u_p, v_p = u[..., :p], v[..., :p]
    rebuilt = tf.matmul(u_p * tf.expand_dims(s, -2), v_p, transpose_b=True)
    return [s, rebuilt, tf.matmul(u, u, transpose_a=True), tf.matmul(v, v, transpose_a=True)]


def _np_rebuilt(x: np.ndarray, full_matrices: bool) -> list:
    m, n = x.shape[-2:]
    k = (m, n) if full_matrices else (min(m, n),) * 2
    eye = np.broadcast_to(np.eye(k[0]), x.shape[:-2] + (k[0], k[0]))
    eye_v = np.broadcast_to(np.eye(k[1]), x.shape[:-2] + (k[1], k[1]))
    return [np.linalg.svd(x, compute_uv=False), x, eye, eye_v]


INFOS = [
    OpInfo("Svd", _values, _np_values, dtypes=(tf.float32, tf.float64), shapes=SVD_SHAPES),
    OpInfo("Svd", _rebuilt, _np_rebuilt, dtypes=(tf.float32, tf.float64), shapes=SVD_SHAPES,
           attrs=[{"full_matrices": False}, {"full_matrices": True}], variant="uv", differentiable=False),
]
