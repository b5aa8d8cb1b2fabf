"""The plugin SDK: everything a device, op, optimizer or checkpoint-format plugin may import.

Plugins import from here (and from ``tensorflux``), never from ``tensorflux._internal``.

Example:
    >>> from tensorflux.extend import hookimpl, OpDef, Device
    >>> callable(hookimpl)
    True
"""

# What every device with its own memory writes otherwise: pooled buffers, the array handle, copies, program cache.
# One process-wide, counted cap on numpy's OpenBLAS threads, shared by every plugin that runs host products.
from ._internal.blas_threads import blas_thread_cap as blas_thread_cap, openblas_thread_setter as openblas_thread_setter
from ._internal.buffer_device import BufferDevice as BufferDevice, Kernels as Kernels, ProgramCache as ProgramCache
from ._internal.checkpoint.formats import CheckpointFormat as CheckpointFormat
from ._internal.checkpoint.kernels import checkpoint_kernels as checkpoint_kernels
from ._internal.control_flow_kernels import control_flow_kernels as control_flow_kernels
from ._internal.data.kernels import dataset_kernels as dataset_kernels
from ._internal.device_array_kernels import device_array_kernels as device_array_kernels
from ._internal.device_memory import (
    Block as Block,
    DeviceArray as DeviceArray,
    RecyclingAllocator as RecyclingAllocator,
    host_array as host_array,
    host_value as host_value,
    on_host as on_host,
)
from ._internal.devices import Device as Device, canonical_device as canonical_device
from ._internal.dtypes import ALL_DTYPES as ALL_DTYPES, FLOATING as FLOATING, INTEGER as INTEGER, NUMERIC as NUMERIC
from ._internal.errors import KernelUnavailable as KernelUnavailable
from ._internal.executor import KernelContext as KernelContext
from ._internal.fileio import atomic_write as atomic_write
from ._internal.geometry import (  # what every device recomputes: window geometry, slice bounds, host random
    WindowGeometry as WindowGeometry,
    axis_geometry as axis_geometry,
    conv2d_geometry as conv2d_geometry,
    explicit_pads as explicit_pads,
    height_width as height_width,
    index_view as index_view,
    normal_on_host as normal_on_host,
    output_size as output_size,
    pool2d_geometry as pool2d_geometry,
    seeded_rng as seeded_rng,
    slice_index as slice_index,
    spatial_axes as spatial_axes,
    strided_slice_index as strided_slice_index,
    to_nhwc as to_nhwc,
    truncated_normal_on_host as truncated_normal_on_host,
    uniform_on_host as uniform_on_host,
    window_counts as window_counts,
)
from ._internal.geometry3d import (  # the same for the 3-D window ops (Conv3D, MaxPool3D, AvgPool3D)
    Window3D as Window3D,
    conv3d_geometry as conv3d_geometry,
    pool3d_geometry as pool3d_geometry,
    to_ndhwc as to_ndhwc,
)
from ._internal.gradients import not_differentiable as not_differentiable, register_gradient as register_gradient
from ._internal.op_builder import apply_op as apply_op, constant_value as constant_value
from ._internal.op_family import OpFamily as OpFamily
from ._internal.ops.slicing import index_from_spec as index_from_spec
from ._internal.passes.clusters import Segment as Segment, SegmentNode as SegmentNode  # Device.compile_segment's input
from ._internal.placement import PlacementWarning as PlacementWarning
from ._internal.plugins import (
    PluginWarning as PluginWarning,
    Registrar as Registrar,
    ensure_discovered as ensure_discovered,
    plugin_infos as plugin_infos,
    plugin_versions as plugin_versions,
)

# Reference kernels over the array API, and the host adapter: a new device runs every core op on day one.
from ._internal.reference import (
    host_kernel as host_kernel,
    reference_kernels as reference_kernels,
    register_reference_kernels as register_reference_kernels,
)
from ._internal.reference.host import host_work_ops as host_work_ops
from ._internal.registry import (
    DEVICES as _DEVICES,
    OPS as _OPS,
    AttrDef as AttrDef,
    KernelDef as KernelDef,
    OpDef as OpDef,
    kernels_for_device as _kernels_for_device,
)
from ._internal.script_kernels import script_kernels as script_kernels
from ._internal.session_state import SessionState as SessionState, VariableSlot as VariableSlot
from ._internal.strided_layout import (  # how a kernel walks C-contiguous buffers: strides, broadcasting, reductions
    broadcast_plan as broadcast_plan,
    collapse as collapse,
    contiguous_strides as contiguous_strides,
    reduction_axes as reduction_axes,
    reduction_layout as reduction_layout,
    resolve_reshape as resolve_reshape,
)

# Summary kernels of every device build the same host-side protos, so they share core's encoders.
from ._internal.summary.encode import (
    audio_summary as audio_summary,
    histogram_summary as histogram_summary,
    image_summary as image_summary,
    merge_summary as merge_summary,
    scalar_summary as scalar_summary,
    tensor_summary as tensor_summary,
)
from ._internal.training.optimizer import Optimizer as Optimizer
from .hookspec import CONTRACT_VERSION as CONTRACT_VERSION, FUSED_OPS as FUSED_OPS, hookimpl as hookimpl


def get_op_def(name: str) -> OpDef:
    """The registered OpDef for ``name``.

    Example:
        >>> from tensorflux.extend import get_op_def
        >>> get_op_def("MatMul").attr_defs["transpose_a"].default
        False
    """
    return _OPS.get(name)


def registered_ops() -> list[str]:
    """Names of every registered op, sorted.

    Example:
        >>> from tensorflux.extend import registered_ops
        >>> "AddV2" in registered_ops()
        True
    """
    ensure_discovered()
    return _OPS.names()


def kernels_for_device(device_type: str) -> list[KernelDef]:
    """Every kernel registered for ``device_type``.

    Example:
        >>> from tensorflux.extend import kernels_for_device
        >>> any(k.op == "MatMul" for k in kernels_for_device("cpu"))
        True
    """
    ensure_discovered()
    return _kernels_for_device(device_type)


def list_devices() -> list[Device]:
    """Every device registered by an installed plugin (runs discovery).

    Example:
        >>> from tensorflux.extend import list_devices
        >>> [d.name for d in list_devices()][:1]
        ['/cpu:0']
    """
    ensure_discovered()
    return _DEVICES.all()
