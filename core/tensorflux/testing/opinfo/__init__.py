"""One table of op cases (``OP_INFOS``): how to build each op, its numpy reference, dtypes, shapes, attrs and
input domains, grouped by op family as core's ops are.

The device conformance suite (``tensorflux.testing.conformance``) runs every case on a device, and
core's own op tests (``tests/core/ops``) run it on the default device; tolerances are stated per dtype
in ``TOLERANCE``. Every op a device kernel computes has entries, the fused ops of the plugin contract
included (``_FusedConv2D``, ``_FusedMaxPoolGrad``, ``_MatMulApplyAdam``: built directly, and from the
unfused composition the fusion graph pass rewrites).

Example:
    >>> from tensorflux.testing.opinfo import OP_INFOS
    >>> {"_FusedConv2D", "ApplyAdam", "TopKV2"} <= {info.op for info in OP_INFOS}
    True
"""

from . import (
    array_ops,
    batch_norm_ops,
    collective_ops,
    conv3d_ops,
    conv_ops,
    depthwise_ops,
    image_ops,
    linalg_ops,
    math_ops,
    nn_ops,
    random_ops,
    scan_scatter_ops,
    sparse_ops,
    special_ops,
    state_ops,
    summary_ops,
)
from .base import (
    ALL as ALL,
    BINARY_SHAPES as BINARY_SHAPES,
    BOOL as BOOL,
    SIGNED as SIGNED,
    TOLERANCE as TOLERANCE,
    UNARY_SHAPES as UNARY_SHAPES,
    NotApplicable as NotApplicable,
    OpInfo as OpInfo,
    case_id as case_id,
    make_input as make_input,
    reference_result as reference_result,
    widen as widen,
)
from .summary_ops import parse_summary as parse_summary

OP_INFOS: list[OpInfo] = (math_ops.INFOS + array_ops.INFOS + nn_ops.INFOS + conv_ops.INFOS + random_ops.INFOS
                          + state_ops.INFOS + summary_ops.INFOS + collective_ops.INFOS + sparse_ops.INFOS
                          + depthwise_ops.INFOS + batch_norm_ops.INFOS + linalg_ops.INFOS
                          + special_ops.INFOS + scan_scatter_ops.INFOS + image_ops.INFOS + conv3d_ops.INFOS)
