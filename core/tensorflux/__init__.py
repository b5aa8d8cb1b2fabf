"""Tensorflux: a TensorFlow-1.x-style dataflow runtime whose devices, kernels and formats are plugins.

Example:
    >>> import tensorflux as tf
    >>> tf.Session().run(tf.constant('Hello'))
    b'Hello'
"""

from __future__ import annotations

from . import errors as errors
from ._internal import (
    builtin as _builtin,
    overloads as _overloads,  # noqa: F401 - installs Tensor operator overloads
    plugins as _plugins,
)
from ._internal.check_ops import (
    Assert as Assert,
    add_check_numerics_ops as add_check_numerics_ops,
    assert_equal as assert_equal,
    assert_greater as assert_greater,
    assert_greater_equal as assert_greater_equal,
    assert_less as assert_less,
    assert_less_equal as assert_less_equal,
    assert_negative as assert_negative,
    assert_non_negative as assert_non_negative,
    assert_non_positive as assert_non_positive,
    assert_none_equal as assert_none_equal,
    assert_positive as assert_positive,
    assert_rank as assert_rank,
    assert_type as assert_type,
    check_numerics as check_numerics,
    verify_tensor_all_finite as verify_tensor_all_finite,
)
from ._internal.clip_ops import (
    clip_by_global_norm as clip_by_global_norm,
    clip_by_norm as clip_by_norm,
    clip_by_value as clip_by_value,
    global_norm as global_norm,
)
from ._internal.control_flow import case as case, cond as cond, while_loop as while_loop
from ._internal.dtypes import (
    DType as DType,  # noqa: A004
    as_dtype as as_dtype,
    bfloat16 as bfloat16,
    bool_ as bool,
    float16 as float16,
    float16 as half,
    float32 as float,  # noqa: A004
    float32 as float32,
    float64 as double,
    float64 as float64,
    int8 as int8,
    int16 as int16,
    int32 as int32,
    int64 as int64,
    string as string,
    uint8 as uint8,
    uint32 as uint32,
    uint64 as uint64,
)
from ._internal.execution_mode import (
    disable_eager_execution as disable_eager_execution,
    disable_v2_behavior as disable_v2_behavior,
    enable_eager_execution as enable_eager_execution,
    enable_v2_behavior as enable_v2_behavior,
    executing_eagerly as executing_eagerly,
)
from ._internal.functional_ops import foldl as foldl, foldr as foldr, map_fn as map_fn, scan as scan
from ._internal.gradients import (
    NotDifferentiable as NotDifferentiable,
    RegisterGradient as RegisterGradient,
    gradients as gradients,
)
from ._internal.graph import (
    Graph as Graph,
    GraphKeys as GraphKeys,
    Operation as Operation,
    Tensor as Tensor,
    add_to_collection as add_to_collection,
    control_dependencies as control_dependencies,
    device as device,
    get_collection as get_collection,
    get_collection_ref as get_collection_ref,
    get_default_graph as get_default_graph,
    name_scope as name_scope,
    reset_default_graph as reset_default_graph,
)
from ._internal.indexed_slices import IndexedSlices as IndexedSlices, IndexedSlicesValue as IndexedSlicesValue
from ._internal.init_scope import init_scope as init_scope
from ._internal.initializers import (
    constant_initializer as constant_initializer,
    glorot_normal_initializer as glorot_normal_initializer,
    glorot_uniform_initializer as glorot_uniform_initializer,
    ones_initializer as ones_initializer,
    orthogonal_initializer as orthogonal_initializer,
    random_normal_initializer as random_normal_initializer,
    random_uniform_initializer as random_uniform_initializer,
    truncated_normal_initializer as truncated_normal_initializer,
    uniform_unit_scaling_initializer as uniform_unit_scaling_initializer,
    variance_scaling_initializer as variance_scaling_initializer,
    zeros_initializer as zeros_initializer,
)
from ._internal.linalg_ops import einsum as einsum, norm as norm
from ._internal.logging_ops import Print as Print, print_v2 as print  # noqa: A004 - TF's name
from ._internal.op_builder import convert_to_tensor as convert_to_tensor
from ._internal.ops.array_composites import (
    boolean_mask as boolean_mask,
    broadcast_to as broadcast_to,
    invert_permutation as invert_permutation,
    lin_space as lin_space,
    linspace as linspace,
    meshgrid as meshgrid,
    segment_sum as segment_sum,
    sequence_mask as sequence_mask,
    unsorted_segment_mean as unsorted_segment_mean,
)
from ._internal.ops.array_ops import (
    concat as concat,
    constant as constant,
    expand_dims as expand_dims,
    fill as fill,
    gather as gather,
    identity as identity,
    identity_n as identity_n,
    one_hot as one_hot,
    ones as ones,
    ones_like as ones_like,
    pad as pad,
    placeholder as placeholder,  # noqa: A004
    placeholder_with_default as placeholder_with_default,
    range as range,
    rank as rank,  # noqa: A004
    reshape as reshape,
    shape as shape,
    size as size,
    slice as slice,
    split as split,
    squeeze as squeeze,
    stack as stack,
    stop_gradient as stop_gradient,
    strided_slice as strided_slice,
    tile as tile,
    transpose as transpose,
    unstack as unstack,
    where as where,
    zeros as zeros,
    zeros_like as zeros_like,
)
from ._internal.ops.binary_math_ops import (
    atan2 as atan2,
    div as div,
    div_no_nan as div_no_nan,
    log_sigmoid as log_sigmoid,
    realdiv as realdiv,
    reduce_logsumexp as reduce_logsumexp,
    truncatediv as truncatediv,
    truncatemod as truncatemod,
)
from ._internal.ops.image_ops import depth_to_space as depth_to_space, space_to_depth as space_to_depth
from ._internal.ops.math_ops import (
    abs as abs,  # noqa: A004
    add as add,
    add_n as add_n,
    argmax as argmax,
    argmin as argmin,
    cast as cast,
    ceil as ceil,
    divide as divide,
    equal as equal,
    exp as exp,
    floor as floor,
    floor_div as floor_div,
    floordiv as floordiv,
    greater as greater,
    greater_equal as greater_equal,
    less as less,
    less_equal as less_equal,
    log as log,
    log1p as log1p,
    logical_and as logical_and,
    logical_not as logical_not,
    logical_or as logical_or,
    matmul as matmul,
    maximum as maximum,
    minimum as minimum,
    mod as floormod,
    mod as mod,
    multiply as mul,  # noqa: F401
    multiply as multiply,
    negative as neg,
    negative as negative,
    not_equal as not_equal,  # noqa: A004
    pow as pow,
    reciprocal as reciprocal,
    reduce_all as reduce_all,
    reduce_any as reduce_any,
    reduce_max as reduce_max,
    reduce_mean as reduce_mean,
    reduce_min as reduce_min,
    reduce_prod as reduce_prod,  # noqa: A004
    reduce_sum as reduce_sum,
    round as round,
    rsqrt as rsqrt,
    sign as sign,
    sqrt as sqrt,
    square as square,
    squared_difference as squared_difference,
    subtract as sub,
    subtract as subtract,
    to_float as to_float,
    to_int32 as to_int32,
    to_int64 as to_int64,
    truediv as truediv,
)
from ._internal.ops.matrix_ops import (
    diag as diag,
    diag_part as diag_part,
    eye as eye,
    matrix_band_part as matrix_band_part,
    matrix_diag as matrix_diag,
    matrix_diag_part as matrix_diag_part,
    matrix_set_diag as matrix_set_diag,
)
from ._internal.ops.nn_ops import sigmoid as sigmoid, tanh as tanh  # TF 1.x has both as tf.* and tf.nn.*
from ._internal.ops.random_ops import (
    random_normal as random_normal,
    random_uniform as random_uniform,
    set_random_seed as set_random_seed,
    truncated_normal as truncated_normal,
)
from ._internal.ops.scan_ops import (
    cumprod as cumprod,
    cumsum as cumsum,
    reverse as reverse,
    reverse as reverse_v2,
    reverse_sequence as reverse_sequence,
)
from ._internal.ops.scatter_nd_ops import (
    gather_nd as gather_nd,
    scatter_nd as scatter_nd,
    tensor_scatter_add as tensor_scatter_add,
    tensor_scatter_nd_add as tensor_scatter_nd_add,
    tensor_scatter_nd_sub as tensor_scatter_nd_sub,
    tensor_scatter_nd_update as tensor_scatter_nd_update,
    tensor_scatter_sub as tensor_scatter_sub,
    tensor_scatter_update as tensor_scatter_update,
)
from ._internal.ops.sparse_ops import (
    scatter_add as scatter_add,
    scatter_sub as scatter_sub,
    scatter_update as scatter_update,
    unique as unique,
    unsorted_segment_sum as unsorted_segment_sum,
)
from ._internal.ops.special_math_ops import (
    acos as acos,
    acosh as acosh,
    asin as asin,
    asinh as asinh,
    atan as atan,
    atanh as atanh,
    cos as cos,
    cosh as cosh,
    digamma as digamma,
    erf as erf,
    erfc as erfc,
    expm1 as expm1,
    is_finite as is_finite,
    is_inf as is_inf,
    is_nan as is_nan,
    lgamma as lgamma,
    polygamma as polygamma,
    sin as sin,
    sinh as sinh,
    tan as tan,
    zeta as zeta,
)
from ._internal.ops.state_ops import (
    group as group,  # noqa: A004
    no_op as no_op,
    tuple as tuple,
)
from ._internal.ops.svd_ops import svd as svd
from ._internal.py_func import numpy_function as numpy_function, py_func as py_func
from ._internal.serialization.graph_def import import_graph_def as import_graph_def
from ._internal.session import (
    InteractiveSession as InteractiveSession,
    Session as Session,
    get_default_session as get_default_session,
)
from ._internal.session_config import (
    ConfigProto as ConfigProto,
    GPUOptions as GPUOptions,
    GraphOptions as GraphOptions,
    OptimizerOptions as OptimizerOptions,
)
from ._internal.shapes import TensorShape as TensorShape
from ._internal.tracing import RunMetadata as RunMetadata, RunOptions as RunOptions
from ._internal.variable_scope import (
    AUTO_REUSE as AUTO_REUSE,
    VariableScope as VariableScope,
    get_local_variable as get_local_variable,
    get_variable as get_variable,
    get_variable_scope as get_variable_scope,
    tables_initializer as tables_initializer,
    variable_op_scope as variable_op_scope,
    variable_scope as variable_scope,
)
from ._internal.variables import (
    Variable as Variable,
    global_variables as global_variables,
    global_variables_initializer as global_variables_initializer,
    initialize_all_variables as initialize_all_variables,
    local_variables as local_variables,
    local_variables_initializer as local_variables_initializer,
    trainable_variables as trainable_variables,
    variables_initializer as variables_initializer,
)
from .proto.event_pb2 import LogMessage as LogMessage, SessionLog as SessionLog  # TF 1.x's tf.SessionLog

# Core's own op families, formats and optimizers are a plugin like any other, handed to the plugin manager here
# so that the manager (below them) never imports them.
_plugins.set_core_plugin(_builtin)


def assign(ref, value, validate_shape: bool = True, use_locking: bool = True, name=None):  # noqa: ANN001, ANN201
    """Assign ``value`` to variable ``ref``; returns the new value.

    Example:
        >>> import tensorflux as tf
        >>> v = tf.Variable(0)
        >>> tf.assign(v, 5).op.type
        'Assign'
    """
    return ref.assign(value, use_locking=use_locking, name=name) if validate_shape else _assign_unvalidated(
        ref, value, name)


def _assign_unvalidated(ref, value, name):  # noqa: ANN001, ANN202
    from ._internal.op_builder import apply_op

    return apply_op("Assign", ref._ref, value, validate_shape=False, name=name or "Assign")[0]


def assign_add(ref, value, use_locking: bool = False, name=None):  # noqa: ANN001, ANN201
    """Add ``value`` to variable ``ref``. Example: ``sess.run(tf.assign_add(step, 1))``."""
    return ref.assign_add(value, use_locking=use_locking, name=name)


def assign_sub(ref, value, use_locking: bool = False, name=None):  # noqa: ANN001, ANN201
    """Subtract ``value`` from variable ``ref``. Example: ``sess.run(tf.assign_sub(v, 1.0))``."""
    return ref.assign_sub(value, use_locking=use_locking, name=name)


def __getattr__(name: str):  # noqa: ANN202
    import importlib

    if name in ("nn", "data", "train", "test", "testing", "datasets", "extend", "summary", "distribute", "logging",
                "app", "flags", "initializers", "compat", "layers", "losses", "metrics", "debugging", "io",
                "python_io", "graph_util", "math", "linalg", "image"):
        return importlib.import_module(f"{__name__}.{name}")
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)


__version__ = "0.1.0"
