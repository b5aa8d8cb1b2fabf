"""The step report: what one ``Session.run`` would have cost on the simulated chip.

A step is every compiled segment the run's plan executes on the device; the report adds their fused ops'
simulated times (a TPU runs them one after another), and places the step on the roofline: its arithmetic
intensity (useful FLOPs per HBM byte) against the chip's ridge point (peak FLOP/s over HBM bandwidth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cost import OpCost


@dataclass
class StepReport:
    """One step on the simulated chip: the fused ops that ran (``ops``, in order), the chip and precision,
    how many compiled segments ran and how many of them compiled in this step.

    Example:
        >>> from types import SimpleNamespace
        >>> chip = SimpleNamespace(name="toy", rows=128, cols=128, mxu_count=1, clock_hz=1e9,
        ...                        memory_bytes_per_s=1e11, peak_flops=3.2e13)
        >>> StepReport(chip, "DEFAULT").total_seconds
        0.0
    """

    chip: Any
    precision: str
    ops: list = field(default_factory=list)
    segments: int = 0
    compiled: int = 0

    def add(self, costs: list[OpCost], compiled: bool) -> None:
        """Add one segment's fused ops."""
        self.ops.extend(costs)
        self.segments += 1
        self.compiled += int(compiled)

    @property
    def total_seconds(self) -> float:
        """Simulated time of the step."""
        return float(sum(op.seconds for op in self.ops))

    @property
    def mxu_seconds(self) -> float:
        """Simulated time of the fused ops that use the MXUs."""
        return float(sum(op.seconds for op in self.ops if op.kind == "mxu"))

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def flops(self) -> int:
        """Useful FLOPs of the step's matrix work."""
        return 2 * self.macs

    @property
    def bytes(self) -> int:
        """HBM bytes the step's fused ops read and write (tile-padded)."""
        return sum(op.bytes for op in self.ops)

    @property
    def mxu_utilization(self) -> float:
        """Useful multiply-adds over what the MXUs could do while the matrix ops ran (their cycles)."""
        capacity = sum(op.cycles for op in self.ops) * self._macs_per_cycle()
        return self.macs / capacity if capacity else 0.0

    @property
    def step_utilization(self) -> float:
        """Useful multiply-adds over what the MXUs could do in the whole step's simulated time."""
        capacity = self.total_seconds * float(self.chip.clock_hz) * self._macs_per_cycle()
        return self.macs / capacity if capacity else 0.0

    @property
    def padding_waste(self) -> float:
        """The share of the MXU work spent on the padding of matrix dimensions to (8, 128) tiles."""
        padded = sum(op.padded_macs for op in self.ops)
        return 1.0 - self.macs / padded if padded else 0.0

    @property
    def arithmetic_intensity(self) -> float:
        """Useful FLOPs per HBM byte."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def ridge_point(self) -> float:
        """FLOPs per byte at which the chip turns from memory-bound to compute-bound."""
        return float(self.chip.peak_flops) / float(self.chip.memory_bytes_per_s)

    @property
    def bound(self) -> str:
        """``"compute-bound"`` when the step's arithmetic intensity reaches the ridge point, else ``"memory-bound"``."""
        return "compute-bound" if self.arithmetic_intensity >= self.ridge_point else "memory-bound"

    @property
    def attainable_flops(self) -> float:
        """The roofline's FLOP/s at the step's intensity: ``min(peak, intensity * bandwidth)``."""
        return min(float(self.chip.peak_flops), self.arithmetic_intensity * float(self.chip.memory_bytes_per_s))

    def _macs_per_cycle(self) -> int:
        return int(self.chip.rows) * int(self.chip.cols) * max(int(self.chip.mxu_count), 1)

    def as_dict(self) -> dict:
        """The report's numbers, and one entry per fused op."""
        return {
            "chip": self.chip.name, "precision": self.precision, "total_seconds": self.total_seconds,
            "mxu_seconds": self.mxu_seconds, "mxu_utilization": self.mxu_utilization,
            "step_utilization": self.step_utilization, "flops": self.flops, "bytes": self.bytes,
            "arithmetic_intensity": self.arithmetic_intensity, "ridge_point": self.ridge_point,
            "bound": self.bound, "padding_waste": self.padding_waste, "segments": self.segments,
            "compiled": self.compiled,
            "ops": [{"name": op.name, "type": op.op_type, "kind": op.kind, "ops": list(op.ops),
                     "seconds": op.seconds, "cycles": op.cycles, "macs": op.macs, "bytes": op.bytes,
                     "utilization": op.utilization, "bound": op.bound, "gemms": [list(g) for g in op.gemms]}
                    for op in self.ops],
        }

    def __str__(self) -> str:
        chip = self.chip
        total = self.total_seconds
        lines = [
            f"tpu_sim step on TPU {chip.name} ({chip.mxu_count} MXU(s) of {chip.rows}x{chip.cols} at "
            f"{chip.clock_hz / 1e6:.0f} MHz, {chip.memory_bytes_per_s / 1e9:.0f} GB/s HBM), precision "
            f"{self.precision}",
            f"simulated time {_time(total)}: MXU ops {_time(self.mxu_seconds)}, vector/memory ops "
            f"{_time(total - self.mxu_seconds)}; {sum(1 for o in self.ops if o.kind != 'free')} fused ops from "
            f"{sum(len(o.ops) for o in self.ops)} ops in {self.segments} compiled segment(s)"
            + (f", {self.compiled} compiled in this step" if self.compiled else ""),
            f"MXU utilization {self.mxu_utilization:.1%} while busy, {self.step_utilization:.1%} over the step; "
            f"padding to (8, 128) tiles wastes {self.padding_waste:.1%} of the MXU work",
            f"roofline: {self.flops / 1e9:.3g} GFLOP over {self.bytes / 1e6:.3g} MB = "
            f"{self.arithmetic_intensity:.1f} FLOP/byte, ridge point {self.ridge_point:.1f} FLOP/byte: {self.bound}",
        ]
        shown = sorted((o for o in self.ops if o.kind != "free"), key=lambda o: -o.seconds)
        if shown:
            lines.append(f"  {'fused op':<48} {'kind':<6} {'time':>10} {'share':>6} {'MXU':>6}  bound")
        for op in shown[:12]:
            share = op.seconds / total if total else 0.0
            util = f"{op.utilization:.0%}" if op.kind == "mxu" else "-"
            lines.append(f"  {_clip(op.label, 48):<48} {op.kind:<6} {_time(op.seconds):>10} {share:>6.1%} "
                         f"{util:>6}  {op.bound}")
        if len(shown) > 12:
            rest = sum(o.seconds for o in shown[12:])
            lines.append(f"  ... {len(shown) - 12} more fused ops, {_time(rest)}")
        return "\n".join(lines)


def _time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} us"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."
