"""Host kernels of ops that only graphs TF wrote use: ``BroadcastGradientArgs`` (shape arithmetic, on the host) and
the stateless random ops of TF's initializers (``philox.py``)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError


def broadcast_gradient_args(s0: Any, s1: Any, *, ctx: Any) -> tuple:
    """The axes of the broadcast result along which the gradients of operands shaped ``s0`` and ``s1`` sum.

    An axis where an operand (padded on the left with 1s) has size 1 is summed, which keeps its gradient's size.

    Example:
        >>> class Ctx: op_name, op_type = "g", "BroadcastGradientArgs"
        >>> [r.tolist() for r in broadcast_gradient_args(np.array([2, 3]), np.array([3]), ctx=Ctx())]
        [[], [0]]
    """
    a, b = np.asarray(s0).reshape(-1), np.asarray(s1).reshape(-1)
    n = max(a.size, b.size)
    pa = np.concatenate([np.ones(n - a.size, a.dtype), a])
    pb = np.concatenate([np.ones(n - b.size, b.dtype), b])
    bad = (pa != pb) & (pa != 1) & (pb != 1)
    if bad.any():
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): incompatible shapes {a.tolist()} and "
                                   f"{b.tolist()} (axis {int(np.flatnonzero(bad)[0])} of the broadcast)")
    axes = np.arange(n, dtype=a.dtype)
    return axes[pa == 1], axes[pb == 1]


def tf_graph_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for the ops only graphs TF wrote use.

    Example:
        >>> sorted(tf_graph_kernels())[:2]
        ['BroadcastGradientArgs', 'StatelessRandomGetKeyCounter']
    """
    from .philox import philox_kernels

    return {"BroadcastGradientArgs": broadcast_gradient_args, **philox_kernels()}
