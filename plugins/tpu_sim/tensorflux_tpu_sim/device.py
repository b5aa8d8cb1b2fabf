"""The simulated TPU device: its memory, settings, compiled programs, compile statistics and step reports."""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from tensorflux.extend import Device

from . import numerics, settings
from .report import StepReport

# Graphs with these ops compute products on the MXU (bfloat16 operands); the conformance suite compares them
# within bfloat16's tolerance. Ops seen using the MXU while compiling (any kernel over numerics.MXU_NUMPY that
# calls matmul) are added as they are found.
MATRIX_OPS = {"MatMul", "BatchMatMul", "BatchMatMulV2", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
              "_FusedConv2D", "_MatMulApplyAdam"}
BFLOAT16_TOLERANCE = (1e-2, 1e-2)


class TpuSimDevice(Device):
    """``/tpu_sim:0``: values are numpy arrays in the device's own (simulated HBM) memory, so values that
    cross to or from the host are copied, as infeed and outfeed are.

    ``precision`` and ``chip`` (None: ``TENSORFLUX_TPU_PRECISION`` / ``TENSORFLUX_TPU_CHIP``, else DEFAULT and
    v3) apply to programs compiled afterwards; a session's ``device_options`` override them.

    Example:
        >>> d = TpuSimDevice(0)
        >>> d.name, d.resolve({"precision": "HIGH"})[0]
        ('/tpu_sim:0', 'HIGH')
    """

    device_type = "tpu_sim"
    host_memory = False
    priority = -1  # ops placed nowhere in particular stay on the cpu; tf.device('/tpu:0') asks for this one

    def __init__(self, index: int = 0) -> None:
        super().__init__(index)
        self.precision: str | None = None
        self.chip: Any = None
        self._lock = threading.Lock()
        self._counts = {"compiles": 0, "cache_hits": 0, "macs": 0, "padded_macs": 0, "bytes": 0, "logical_bytes": 0}
        self._step: StepReport | None = None
        self.last_report: StepReport | None = None
        self.listeners: list[Callable[[StepReport], None]] = []
        # Kernels run outside a compiled program (the compile pass switched off) use this device's precision.
        numerics.fallback_precision = lambda: settings.check_precision(
            self.precision or settings.env_precision(), "tpu_sim precision")

    # -- memory --------------------------------------------------------------------------------------------
    def from_host(self, array: np.ndarray) -> Any:
        return np.array(array, copy=True)

    def to_host(self, value: Any) -> np.ndarray:
        return np.array(value, copy=True)  # a copy: the device's memory is not the caller's to write

    def describe(self) -> dict:
        precision, chip = self.resolve({})
        return {"platform": "simulated TPU (tensorflux-tpu-sim)", "chip": f"TPU {chip.name}",
                "matrix units": f"{chip.mxu_count} x {chip.rows}x{chip.cols} at {chip.clock_hz / 1e6:.0f} MHz",
                "HBM bandwidth": f"{chip.memory_bytes_per_s / 1e9:.0f} GB/s", "precision": precision}

    # -- settings ------------------------------------------------------------------------------------------
    def resolve(self, options: dict) -> tuple[str, Any]:
        """``(precision, ChipSpec)`` for a program: the session's ``options``, else this device's, else the
        environment's, else DEFAULT and v3."""
        from . import chips

        precision = options.get("precision") or self.precision or settings.env_precision()
        chip = options.get("chip") or self.chip or settings.env_chip()
        if isinstance(chip, str):
            chip = chips.chip(chip)
        return settings.check_precision(precision, "tpu_sim precision"), chip

    # -- compilation ---------------------------------------------------------------------------------------
    def compile_segment(self, segment: Any) -> Callable:
        from .compiler import Program

        return Program(self, segment)

    def conformance_tolerance(self, op_types: set, dtype: Any) -> tuple[float, float] | None:
        """bfloat16's tolerance for graphs whose products run on the MXU; None for the others."""
        return BFLOAT16_TOLERANCE if op_types & MATRIX_OPS else None

    def note_compile(self, program: Any, exe: Any) -> None:
        """Count one compile and its padding; add the executable's ops to the step being reported."""
        with self._lock:
            self._counts["compiles"] += 1
            for cost in exe.costs:
                if cost.gemms:
                    MATRIX_OPS.add(cost.op_type)
                self._counts["macs"] += cost.macs
                self._counts["padded_macs"] += cost.padded_macs
                self._counts["bytes"] += cost.bytes
                self._counts["logical_bytes"] += cost.logical_bytes
        self._add_to_step(program, exe, compiled=True)

    def note_cache_hit(self, program: Any, exe: Any) -> None:
        with self._lock:
            self._counts["cache_hits"] += 1
        self._add_to_step(program, exe, compiled=False)

    def _add_to_step(self, program: Any, exe: Any, compiled: bool) -> None:
        segment = program.segment
        if segment.index == 0 or self._step is None:
            self._step = StepReport(exe.chip, exe.precision)
        self._step.add(exe.costs, compiled)
        if segment.index >= segment.count - 1:
            report, self._step = self._step, None
            self.last_report = report
            for listener in list(self.listeners):
                listener(report)

    # -- statistics ----------------------------------------------------------------------------------------
    def stats(self) -> dict:
        """``compiles``, ``cache_hits`` and ``padding_waste`` (the share of compiled MXU work that pads matrix
        dimensions to (8, 128) tiles), and ``layout_padding`` (the share of HBM bytes that pad arrays to
        tiles), over every program compiled since the last ``reset_stats``."""
        with self._lock:
            c = dict(self._counts)
        return {"compiles": c["compiles"], "cache_hits": c["cache_hits"],
                "padding_waste": 1 - c["macs"] / c["padded_macs"] if c["padded_macs"] else 0.0,
                "layout_padding": 1 - c["logical_bytes"] / c["bytes"] if c["bytes"] else 0.0}

    def reset_stats(self) -> None:
        """Start counting compiles, cache hits and padding afresh (programs stay compiled)."""
        with self._lock:
            for key in self._counts:
                self._counts[key] = 0
