"""Hook implementations only: registers ``/tpu_sim:0``, the ``tpu`` alias and the device's kernels. Cheap to import."""

from __future__ import annotations

from tensorflux.extend import hookimpl

TENSORFLUX_CONTRACT = "1.0"

# Left to the cpu: core's fused ops (the compiler fuses instead), and host work a TPU hands back to its host
# (Python calls, MPI, input pipelines), as TF's outside compilation does.
SKIPPED = ("_FusedConv2D", "_FusedMaxPoolGrad", "_MatMulApplyAdam", "PyFunc", "PyFuncStateless", "MpiAllreduce",
           "MpiAllreduceStart", "MpiAllreduceFinish", "MpiBroadcast", "IteratorGetNext", "MakeIterator")
# A TPU computes float32 (bfloat16 operands on the MXU) and stores bfloat16; it has no float64 or float16, so
# ops at those dtypes stay on the cpu.
DTYPES = ("float32", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool")


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    from .device import TpuSimDevice

    registrar.device(TpuSimDevice(0))
    registrar.device_alias("tpu", "tpu_sim")


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    from tensorflux.extend import reference_kernels, register_reference_kernels

    from .numerics import MXU_NUMPY

    table = reference_kernels(MXU_NUMPY)
    register_reference_kernels(registrar, "tpu_sim", MXU_NUMPY, dtypes=DTYPES,
                               skip=[op for op in SKIPPED if op in table])


@hookimpl
def tensorflux_versions() -> dict:
    from importlib import metadata

    return {name: metadata.version(name) for name in ("numpy", "ml_dtypes")}
