"""tpu_sim's chip presets carry Google's published per-chip figures; custom chips are checked as they are made."""

import dataclasses
import math

import pytest

from tensorflux_tpu_sim.chips import ChipSpec, chip, custom_chip
from tensorflux_tpu_sim.systolic import ArrayConfig

# The peak rates and memory bandwidths Google publishes per chip (ISCA 2017, CACM 2020, ISCA 2023; Cloud
# TPU pages for v3 and v4), against which the presets' array shape, MXU count and clock must add up.
PUBLISHED = {  # name: (peak TFLOPS or TOPS, memory GB/s, MXUs per TensorCore, TensorCores, multiplier dtype)
    "v1": (92, 34, 1, 1, "int8"),
    "v2": (46, 700, 1, 2, "bfloat16"),
    "v3": (123, 900, 2, 2, "bfloat16"),
    "v4": (275, 1200, 4, 2, "bfloat16"),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_presets_add_up_to_the_published_figures(name):
    tflops, gbps, per_core, cores, dtype = PUBLISHED[name]
    spec = chip(name)
    assert math.isclose(spec.peak_flops / 1e12, tflops, rel_tol=0.01)
    assert spec.memory_bytes_per_s == gbps * 1e9
    assert (spec.mxus_per_core, spec.cores, spec.dtype) == (per_core, cores, dtype)
    assert (spec.rows, spec.cols) == ((256, 256) if name == "v1" else (128, 128))


def test_lookup_accepts_the_usual_spellings_and_names_the_presets_otherwise():
    assert chip("V3") == chip("tpu_v3") == chip("tpuv3") == chip("v3")
    with pytest.raises(ValueError, match=r"unknown TPU chip 'v9'; the presets are \['v1', 'v2', 'v3', 'v4'\]"):
        chip("v9")


def test_a_custom_chip_is_a_chip_spec_with_its_own_array():
    spec = custom_chip(rows=32, cols=16, mxu_count=4, cores=2, clock_hz=1e9)
    assert isinstance(spec, ChipSpec) and spec.name == "custom-32x16x4"
    assert spec.peak_flops == 2 * 32 * 16 * 4 * 1e9
    assert spec.mxus_per_core == 2
    assert spec.array_config("os", ofmap_sram_kb=64) == ArrayConfig(32, 16, "os", ofmap_sram_kb=64)


def test_specs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        chip("v4").clock_hz = 2e9


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rows": 0, "cols": 8}, "rows must be a positive int, got 0"),
    ({"rows": 8, "cols": 8, "clock_hz": -1.0}, "clock_hz must be a positive number, got -1.0"),
    ({"rows": 8, "cols": 8, "mxu_count": 3, "cores": 2}, r"mxu_count \(3\) must be a multiple of cores \(2\)"),
    ({"rows": 8, "cols": 8, "dtype": "float16"}, "dtype must be one of"),
])
def test_bad_custom_chips_are_refused_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        custom_chip(**kwargs)
