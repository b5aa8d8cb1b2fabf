"""Reference kernels of the ops along an axis: Cumsum and Cumprod (exclusive, reversed), ReverseV2 and
ReverseSequence, over the array namespace ``xp``."""

from __future__ import annotations

from typing import Any, Callable

from .common import axis_slice, host_int, host_ints


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the scan and reversal ops, computing with ``xp``.

    Example:
        >>> import numpy as np
        >>> kernels(np)["Cumsum"](np.array([1, 2, 3]), np.array(0), exclusive=True, reverse=False).tolist()
        [0, 1, 3]
    """

    def normalized(axis: int, rank: int, op: str) -> int:
        if not -rank <= axis < max(rank, 1) or rank == 0:
            raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {rank}")
        return axis % rank

    def scan(combine: Callable, identity: Callable, op: str) -> Callable:
        """A cumulative ``combine`` along the axis, one slice at a time (the standard has no cumulative product)."""

        def kernel(x, axis, *, exclusive, reverse):
            a = normalized(host_int(axis), x.ndim, op)
            n = x.shape[a]
            if n == 0:
                return x
            src = xp.flip(x, axis=a) if reverse else x
            parts, running = [], None
            for i in range(n):
                piece = src[axis_slice(x.ndim, a, i, i + 1)]
                if exclusive:
                    parts.append(identity(piece) if running is None else running)
                running = piece if running is None else combine(running, piece)
                if not exclusive:
                    parts.append(running)
            out = xp.concat(parts, axis=a)
            return xp.flip(out, axis=a) if reverse else out

        kernel.__name__ = kernel.__qualname__ = op.lower()
        return kernel

    def reverse(x, axis):
        axes = tuple(sorted({normalized(a, x.ndim, "ReverseV2") for a in host_ints(axis)}))
        return xp.flip(x, axis=axes) if axes else x

    def reverse_sequence(x, seq_lengths, *, seq_dim, batch_dim):
        rank = x.ndim
        s, b = normalized(seq_dim, rank, "ReverseSequence"), normalized(batch_dim, rank, "ReverseSequence")
        if s == b:
            raise ValueError(f"ReverseSequence: seq_dim and batch_dim must differ, both are {s}")
        lengths = host_ints(seq_lengths)
        batch, steps = x.shape[b], x.shape[s]
        if len(lengths) != batch or any(not 0 <= n <= steps for n in lengths):
            raise ValueError(f"ReverseSequence: seq_lengths {lengths} must hold {batch} values in [0, {steps}]")
        # Batch and sequence axes first, flattened: row (i, t) of the result is row (i, n_i - 1 - t) while t < n_i.
        rest = [d for d in range(rank) if d not in (b, s)]
        moved = xp.permute_dims(x, (b, s, *rest))
        flat = xp.reshape(moved, (batch * steps, *moved.shape[2:]))
        rows = [i * steps + (n - 1 - t if t < n else t) for i, n in enumerate(lengths) for t in range(steps)]
        taken = xp.take(flat, xp.asarray(rows, dtype=xp.int64, device=x.device), axis=0)
        out = xp.reshape(taken, moved.shape)
        inverse = [0] * rank
        for position, d in enumerate((b, s, *rest)):
            inverse[d] = position
        return xp.permute_dims(out, tuple(inverse))

    return {"Cumsum": scan(xp.add, xp.zeros_like, "Cumsum"), "Cumprod": scan(xp.multiply, xp.ones_like, "Cumprod"),
            "ReverseV2": reverse, "ReverseSequence": reverse_sequence}
