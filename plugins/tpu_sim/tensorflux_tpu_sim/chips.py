"""The TPU chips tpu_sim can simulate: Google's published figures for TPU v1 to v4, and user-made arrays.

Figures are per chip. Sources (docs/tpu-cycle-model.md#chips has the table):

- v1: Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit", ISCA 2017.
- v2, v3: Jouppi et al., "A Domain-Specific Supercomputer for Training Deep Neural Networks", CACM 63(7),
  2020; v3 also Google Cloud's "TPU v3" page.
- v4: Jouppi et al., "TPU v4: An Optically Reconfigurable Supercomputer for Machine Learning with Hardware
  Support for Embeddings", ISCA 2023; also Google Cloud's "TPU v4" page.

Example:
    >>> round(chip("v4").peak_flops / 1e12, 1)
    275.3
    >>> custom_chip(rows=32, cols=32, clock_hz=1e9).peak_flops
    2048000000000.0
"""

from __future__ import annotations

from dataclasses import dataclass

from .systolic import ArrayConfig

_DTYPES = ("int8", "bfloat16")


@dataclass(frozen=True)
class ChipSpec:
    """One chip: ``mxu_count`` systolic arrays of ``rows x cols`` MACs (over ``cores`` TensorCores) at
    ``clock_hz``, fed by ``memory_bytes`` of off-chip memory at ``memory_bytes_per_s``; ``dtype`` is what
    its multipliers take (their products accumulate in 32 bits).

    Example:
        >>> v1 = chip("v1")
        >>> v1.rows, v1.mxu_count, v1.dtype, round(v1.peak_flops / 1e12)
        (256, 1, 'int8', 92)
    """

    name: str
    rows: int
    cols: int
    mxu_count: int
    cores: int
    clock_hz: float
    memory_bytes_per_s: float
    memory_bytes: int
    dtype: str

    def __post_init__(self) -> None:
        for field in ("rows", "cols", "mxu_count", "cores", "memory_bytes"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ChipSpec {self.name!r}: {field} must be a positive int, got {value!r}")
        for field in ("clock_hz", "memory_bytes_per_s"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"ChipSpec {self.name!r}: {field} must be a positive number, got {value!r}")
        if self.mxu_count % self.cores:
            raise ValueError(f"ChipSpec {self.name!r}: mxu_count ({self.mxu_count}) must be a multiple of cores "
                             f"({self.cores})")
        if self.dtype not in _DTYPES:
            raise ValueError(f"ChipSpec {self.name!r}: dtype must be one of {_DTYPES}, got {self.dtype!r}")

    @property
    def mxus_per_core(self) -> int:
        """Matrix units in each TensorCore."""
        return self.mxu_count // self.cores

    @property
    def peak_flops(self) -> float:
        """Peak matrix-unit rate: 2 operations (multiply, add) per MAC per cycle, every MXU busy."""
        return 2.0 * self.rows * self.cols * self.mxu_count * self.clock_hz

    def array_config(self, dataflow: str = "ws", **sram_kb: int) -> ArrayConfig:
        """One of this chip's MXUs as the cycle model's ``ArrayConfig`` (SRAM sizes as keywords, in KiB).

        Example:
            >>> chip("v3").array_config().rows
            128
        """
        return ArrayConfig(self.rows, self.cols, dataflow, **sram_kb)


_GIB = 1 << 30

# name: (rows, cols, MXUs per chip, TensorCores, clock, memory bandwidth, memory size, multiplier dtype)
_PRESETS = {
    # ISCA 2017: one 256x256 8-bit MAC array at 700 MHz (92 TOPS), 8 GiB of DDR3 at 34 GB/s.
    "v1": (256, 256, 1, 1, 700e6, 34e9, 8 * _GIB, "int8"),
    # CACM 2020: two TensorCores of one 128x128 bf16 MXU at 700 MHz (46 TFLOPS), 16 GiB HBM at 700 GB/s.
    "v2": (128, 128, 2, 2, 700e6, 700e9, 16 * _GIB, "bfloat16"),
    # CACM 2020: two TensorCores of two MXUs at 940 MHz (123 TFLOPS), 32 GiB HBM at 900 GB/s.
    "v3": (128, 128, 4, 2, 940e6, 900e9, 32 * _GIB, "bfloat16"),
    # ISCA 2023: two TensorCores of four MXUs at 1050 MHz (275 TFLOPS), 32 GiB HBM2 at 1200 GB/s.
    "v4": (128, 128, 8, 2, 1050e6, 1200e9, 32 * _GIB, "bfloat16"),
}


def chip(name: str) -> ChipSpec:
    """The preset chip ``name``: ``"v1"``, ``"v2"``, ``"v3"`` or ``"v4"`` (``"tpu_v4"`` and ``"V4"`` work too).

    Example:
        >>> chip("v2").mxu_count
        2
    """
    key = str(name).lower().removeprefix("tpu").lstrip("_-")
    if key not in _PRESETS:
        raise ValueError(f"unknown TPU chip {name!r}; the presets are {sorted(_PRESETS)}, or make one with "
                         "tensorflux_tpu_sim.chips.custom_chip(rows=..., cols=...)")
    return ChipSpec(key, *_PRESETS[key])


def custom_chip(rows: int, cols: int, mxu_count: int = 1, clock_hz: float = 940e6,
                memory_bytes_per_s: float = 900e9, memory_bytes: int = 32 * _GIB, dtype: str = "bfloat16",
                cores: int = 1, name: str | None = None) -> ChipSpec:
    """A chip of your own: ``mxu_count`` arrays of ``rows x cols``; the other figures default to TPU v3's.

    Example:
        >>> custom_chip(64, 64, mxu_count=2).name
        'custom-64x64x2'
    """
    return ChipSpec(name or f"custom-{rows}x{cols}x{mxu_count}", rows, cols, mxu_count, cores, clock_hz,
                    memory_bytes_per_s, memory_bytes, dtype)
