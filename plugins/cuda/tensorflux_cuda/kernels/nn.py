"""Softmax, log-softmax and the softmax cross-entropies: reductions over the class axis plus elementwise programs.

Each is a max, a sum and one or two elementwise programs (one ``ElementwiseKernel`` each on a GPU) instead of
the reference kernels' dozen separate passes. The sparse cross-entropy does as TF's GPU kernel: a label
outside ``[0, classes)`` makes that row's loss and gradient nan instead of raising, since checking would make
every step wait for the GPU.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .. import codegen
from ..backend import ArrayBackend
from .common import computed, dtype_name, like

u, m, s, y = codegen.inputs("u", "m", "s", "y")
# e = exp(u - max): the shifted exponentials, whose row sums are s
SHIFTED_EXP = codegen.Program("shifted_exp", ("u", "m"), {"e": codegen.exp(u - m)})
SOFTMAX = codegen.Program("softmax", ("u", "m", "s"), {"p": codegen.exp(u - m) / s})
LOG_SOFTMAX = codegen.Program("log_softmax", ("u", "m", "s"), {"logp": u - m - codegen.log(s)})
# per class: the gradient softmax - y, and y * -log(softmax), whose row sums are the loss
XENT = codegen.Program("softmax_xent", ("u", "m", "s", "y"),
                       {"backprop": codegen.exp(u - m) / s - y, "loss_terms": y * (codegen.log(s) - (u - m))})


def kernels(backend: ArrayBackend) -> dict[str, Callable]:
    """``{op: kernel}`` for Softmax, LogSoftmax and both softmax cross-entropies over ``backend``.

    Example:
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> p = kernels(ArrayBackend(np))["Softmax"](np.zeros((1, 4), np.float32))
        >>> p.tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """
    xp = backend.xp

    def run(program: codegen.Program, *arrays: Any) -> list:
        return backend.elementwise(program, dtype_name(arrays[0].dtype))(list(arrays))

    def row_stats(uc: Any) -> tuple[Any, Any]:
        mx = xp.max(uc, axis=-1, keepdims=True)
        return mx, xp.sum(run(SHIFTED_EXP, uc, mx)[0], axis=-1, keepdims=True)

    def softmax(logits):
        uc = computed(xp, logits)
        if 0 in uc.shape:
            return logits
        mx, total = row_stats(uc)
        return like(xp, run(SOFTMAX, uc, mx, total)[0], logits)

    def log_softmax(logits):
        uc = computed(xp, logits)
        if 0 in uc.shape:
            return logits
        mx, total = row_stats(uc)
        return like(xp, run(LOG_SOFTMAX, uc, mx, total)[0], logits)

    def xent(uc: Any, yc: Any, features: Any) -> tuple[Any, Any]:
        mx, total = row_stats(uc)
        backprop, terms = run(XENT, uc, mx, total, yc)
        return like(xp, xp.sum(terms, axis=-1), features), like(xp, backprop, features)

    def softmax_xent(features, labels):
        if tuple(features.shape) != tuple(labels.shape):
            raise ValueError(f"logits and labels must have the same shape, got logits {list(features.shape)} and "
                             f"labels {list(labels.shape)}")
        uc = computed(xp, features)
        if 0 in uc.shape:
            return xp.zeros(uc.shape[:-1], dtype=features.dtype, device=features.device), features
        return xent(uc, computed(xp, labels), features)

    def sparse_softmax_xent(features, labels):
        batch, classes = features.shape
        if tuple(labels.shape) != (batch,):
            raise ValueError(f"labels must have shape [{batch}] to match logits {list(features.shape)}, got "
                             f"{list(labels.shape)}")
        uc = computed(xp, features)
        if batch == 0 or classes == 0:
            return xp.zeros((batch,), dtype=features.dtype, device=features.device), features
        column = xp.reshape(labels, (batch, 1))
        hot = column == xp.reshape(xp.arange(classes, dtype=labels.dtype, device=features.device), (1, classes))
        loss, backprop = xent(uc, xp.astype(hot, uc.dtype), features)
        valid = xp.logical_and(labels >= 0, labels < classes)
        nan = xp.asarray(math.nan, dtype=features.dtype, device=features.device)
        return xp.where(valid, loss, nan), xp.where(xp.reshape(valid, (batch, 1)), backprop, nan)

    return {"Softmax": softmax, "LogSoftmax": log_softmax, "SoftmaxCrossEntropyWithLogits": softmax_xent,
            "SparseSoftmaxCrossEntropyWithLogits": sparse_softmax_xent}
