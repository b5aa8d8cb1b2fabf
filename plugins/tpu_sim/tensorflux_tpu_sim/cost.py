"""What one fused op of a compiled segment costs on the simulated chip.

Matrix work is what the op's kernel asked of the MXU (each product's ``(batch, m, n, k)``, recorded while the
segment was compiled), with ``m`` padded to a multiple of 8 and ``n``, ``k`` to multiples of 128 (the
(8, 128) tiles of TPU layouts), costed by the systolic model (``systolic.gemm_cost``, weight stationary,
as the MXU is) and spread over the chip's MXUs. Everything else is memory-bound: the HBM bytes a fused op
reads and writes (tile-padded too) over the chip's bandwidth. A matrix op takes the longer of its MXU time
and its memory time (the two overlap on a TPU).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from .systolic import ArrayConfig, gemm_cost

SUBLANES, LANES = 8, 128


def _up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def tile_padded(shape: tuple) -> tuple:
    """``shape`` as a TPU lays it out in HBM: the last dimension padded to 128, the one before to 8.

    Example:
        >>> tile_padded((50, 10)), tile_padded((3,)), tile_padded(())
        ((56, 128), (128,), ())
    """
    shape = tuple(int(d) for d in shape)
    if not shape:
        return shape
    last = (_up(shape[-1], LANES),) if shape[-1] else (0,)
    if len(shape) == 1:
        return last
    return shape[:-2] + ((_up(shape[-2], SUBLANES) if shape[-2] else 0),) + last


def hbm_bytes(shape: tuple, itemsize: int) -> int:
    """Bytes an array of ``shape`` takes in HBM (tile-padded).

    Example:
        >>> hbm_bytes((50, 10), 4)
        28672
    """
    return math.prod(tile_padded(shape)) * itemsize


@dataclass(frozen=True)
class GemmCost:
    """One matrix product on the chip: MXU cycles (all passes, all MXUs working in parallel), the useful
    multiply-adds, those of the padded problem, and those the MXUs execute (padded, times the passes)."""

    cycles: int
    macs: int
    padded_macs: int
    executed_macs: int
    padded: tuple


@functools.lru_cache(maxsize=4096)
def _array_cycles(m: int, n: int, k: int, array: ArrayConfig) -> int:
    return gemm_cost(m, n, k, array).cycles


def gemm_on_chip(batch: int, m: int, n: int, k: int, passes: int, chip) -> GemmCost:
    """Cost of ``batch`` products ``[m, k] @ [k, n]`` at ``passes`` bfloat16 passes on ``chip``'s MXUs.

    The work is split among the MXUs the cheapest of three ways, as a compiler would partition it: by
    batch, by rows of the product (each MXU streams a share of ``m``) or by columns (each MXU holds a share
    of the weights, 128 columns at a time); and the product may run transposed (``B^T A^T``, so that the
    larger of ``m`` and ``n`` streams), whichever is faster.

    Example:
        >>> from types import SimpleNamespace
        >>> chip = SimpleNamespace(rows=8, cols=8, mxu_count=1)
        >>> gemm_on_chip(1, 20, 12, 10, 1, chip).padded
        (1, 24, 128, 128)
    """
    mp, np_, kp = _up(m, SUBLANES), _up(n, LANES), _up(k, LANES)
    macs = batch * m * n * k
    padded = batch * mp * np_ * kp
    if macs == 0:
        return GemmCost(0, 0, 0, 0, (batch, mp, np_, kp))
    array = ArrayConfig(int(chip.rows), int(chip.cols), "ws")
    mxus = max(int(chip.mxu_count), 1)
    ways = []
    for rows, cols in ((m, n), (n, m)):  # as asked, and transposed
        rp, cp = _up(rows, SUBLANES), _up(cols, LANES)
        ways.append(-(-batch // mxus) * _array_cycles(rp, cp, kp, array))  # batches spread over the MXUs
        if batch < mxus:
            share = mxus // batch
            ways.append(_array_cycles(_up(-(-rp // share), SUBLANES), cp, kp, array))
            ways.append(_array_cycles(rp, _up(-(-cp // share), LANES), kp, array))
    return GemmCost(min(ways) * passes, macs, padded, padded * passes, (batch, mp, np_, kp))


@dataclass
class OpCost:
    """One fused op of a step: what ran (``ops``, the first is the root), how, and what it cost.

    ``kind`` is ``"mxu"`` (a matrix op, with its fused epilogue), ``"vector"`` (memory-bound work: fused
    elementwise ops, reductions, pooling, data movement) or ``"free"`` (shape bookkeeping, no HBM traffic).
    ``gemms`` are its products' padded ``(batch, m, n, k)``; ``utilization`` is the MXUs' while it runs.
    """

    name: str
    op_type: str
    kind: str
    ops: tuple
    seconds: float = 0.0
    cycles: int = 0
    macs: int = 0
    padded_macs: int = 0
    executed_macs: int = 0
    bytes: int = 0
    logical_bytes: int = 0
    utilization: float = 0.0
    gemms: tuple = field(default_factory=tuple)
    memory_seconds: float = 0.0

    @property
    def flops(self) -> int:
        """Useful floating-point operations of its matrix work (two per multiply-add)."""
        return 2 * self.macs

    @property
    def bound(self) -> str:
        """``"compute"`` when its MXU time is the longer, else ``"memory"`` (``"-"`` for a free op)."""
        if self.kind == "free":
            return "-"
        return "compute" if self.kind == "mxu" and self.cycles and self.seconds > self.memory_seconds else "memory"

    @property
    def label(self) -> str:
        """Its name, with the ops fused into it."""
        if len(self.ops) == 1:
            return self.name
        fused = ", ".join(name.rsplit("/", 1)[-1] for name in self.ops[1:4])
        more = f" +{len(self.ops) - 4}" if len(self.ops) > 4 else ""
        return f"{self.name} [+ {fused}{more}]"


def fused_cost(name: str, op_type: str, kind: str, ops: tuple, gemms: list, passes: int, moved: list,
               chip) -> OpCost:
    """The cost of one fused op: its MXU products ``gemms`` (``(batch, m, n, k)``) at ``passes``, and the arrays
    it reads from and writes to HBM, ``moved`` as ``(shape, itemsize)``.

    Example:
        >>> from types import SimpleNamespace
        >>> chip = SimpleNamespace(rows=128, cols=128, mxu_count=1, clock_hz=1e9, memory_bytes_per_s=1e11)
        >>> cost = fused_cost("x", "Relu", "vector", ("x",), [], 1, [((256, 256), 4)] * 2, chip)
        >>> cost.bytes, round(cost.seconds * 1e9)
        (524288, 5243)
    """
    if kind == "free":
        return OpCost(name, op_type, kind, ops)
    logical = sum(math.prod(shape) * size for shape, size in moved)
    padded_bytes = sum(hbm_bytes(shape, size) for shape, size in moved)
    memory_seconds = padded_bytes / float(chip.memory_bytes_per_s)
    costs = [gemm_on_chip(*g, passes, chip) for g in gemms]
    cycles = sum(c.cycles for c in costs)
    compute_seconds = cycles / float(chip.clock_hz) if cycles else 0.0
    macs = sum(c.macs for c in costs)
    capacity = cycles * int(chip.rows) * int(chip.cols) * max(int(chip.mxu_count), 1)
    return OpCost(name, op_type, kind, ops, seconds=max(compute_seconds, memory_seconds), cycles=cycles, macs=macs,
                  padded_macs=sum(c.padded_macs for c in costs), executed_macs=sum(c.executed_macs for c in costs),
                  bytes=padded_bytes, logical_bytes=logical, utilization=macs / capacity if capacity else 0.0,
                  gemms=tuple(c.padded for c in costs), memory_seconds=memory_seconds)
