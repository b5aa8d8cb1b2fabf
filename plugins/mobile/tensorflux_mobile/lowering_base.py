"""What the lowering and its per-op rules share: the op sets they recognize, the error, and tensor helpers.

Example:
    >>> from tensorflux_mobile.lowering_base import ConversionError
    >>> issubclass(ConversionError, ValueError)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Stateful ops whose value a session can still read: a frozen graph holds their value as a constant.
_READABLE_STATE = {"VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "VarIsInitializedOp"}
_IDENTITIES = {"Identity", "Snapshot", "StopGradient", "PreventGradient", "CheckNumerics"}
_LINEAR = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
_ACTIVATIONS = {"Relu": "RELU", "Relu6": "RELU6"}


class ConversionError(ValueError):
    """The graph holds something the converter cannot express in TF Lite builtins; the message names the op."""


class _Ones:
    """A tensor known to be all ones (a dropout mask at keep probability 1)."""


ONES = _Ones()


def _shape(t: Any) -> tuple:
    dims = t.shape.as_list() if t.shape.dims is not None else None
    if dims is None:
        raise ConversionError(f"tensor '{t.name}' has unknown rank; TF Lite tensors need a known rank")
    return tuple(-1 if d is None else int(d) for d in dims)


def _np_dtype(t: Any) -> np.dtype:
    return np.dtype(t.dtype.as_numpy_dtype)
