"""``tf.math``: elementwise math, special functions, reductions, scans and segment sums, as TF 1.x's ``tf.math``.

Example:
    >>> import tensorflux as tf
    >>> tf.Session().run(tf.math.sin([0.0]))
    array([0.], dtype=float32)
"""

from ._internal.linalg_ops import l2_normalize as l2_normalize
from ._internal.ops.array_composites import (
    invert_permutation as invert_permutation,
    segment_sum as segment_sum,
    unsorted_segment_mean as unsorted_segment_mean,
)
from ._internal.ops.binary_math_ops import (
    atan2 as atan2,
    divide_no_nan as divide_no_nan,
    log_sigmoid as log_sigmoid,
    reduce_logsumexp as reduce_logsumexp,
    truncatediv as truncatediv,
    truncatemod as truncatemod,
    xdivy as xdivy,
    xlogy as xlogy,
)
from ._internal.ops.math_ops import (
    abs as abs,  # noqa: A004
    add as add,
    add_n as add_n,
    argmax as argmax,
    argmin as argmin,
    ceil as ceil,
    divide as divide,
    equal as equal,
    exp as exp,
    floor as floor,
    floordiv as floordiv,
    floormod as floormod,
    greater as greater,
    greater_equal as greater_equal,
    less as less,
    less_equal as less_equal,
    log as log,
    log1p as log1p,
    logical_and as logical_and,
    logical_not as logical_not,
    logical_or as logical_or,
    maximum as maximum,
    minimum as minimum,
    mod as mod,
    multiply as multiply,
    negative as negative,
    not_equal as not_equal,
    pow as pow,  # noqa: A004
    reciprocal as reciprocal,
    reduce_all as reduce_all,
    reduce_any as reduce_any,
    reduce_max as reduce_max,
    reduce_mean as reduce_mean,
    reduce_min as reduce_min,
    reduce_prod as reduce_prod,
    reduce_sum as reduce_sum,
    round as round,  # noqa: A004
    rsqrt as rsqrt,
    sign as sign,
    sqrt as sqrt,
    square as square,
    squared_difference as squared_difference,
    subtract as subtract,
    truediv as truediv,
)
from ._internal.ops.nn_ops import (
    in_top_k as in_top_k,
    log_softmax as log_softmax,
    sigmoid as sigmoid,
    softmax as softmax,
    softplus as softplus,
    tanh as tanh,
    top_k as top_k,
)
from ._internal.ops.scan_ops import cumprod as cumprod, cumsum as cumsum
from ._internal.ops.sparse_ops import unsorted_segment_sum as unsorted_segment_sum
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
    softsign as softsign,
    tan as tan,
    zeta as zeta,
)
