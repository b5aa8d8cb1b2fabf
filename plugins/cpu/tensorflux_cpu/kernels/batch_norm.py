"""Kernels of the fused batch-norm ops (``FusedBatchNorm``, V2, V3 and their gradients) and ``IdentityN``: core's
reference kernels over numpy, as they are.

They are whole-array numpy expressions already (a multiply and an add per element in inference), and frozen
graphs fold an inference batch norm into the preceding convolution anyway (``graph_util.fold_batch_norms``).
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import reference_kernels

_OPS = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "FusedBatchNormGrad", "FusedBatchNormGradV2",
        "FusedBatchNormGradV3", "IdentityN")


def _kernels():
    table = reference_kernels(np)
    return {op: table[op] for op in _OPS}


KERNELS = _kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
