"""Run-time checks: ``tf.Assert``, the ``tf.assert_*`` family and ``tf.check_numerics``, with their host kernels.

An assertion is an op with no output; like TF 1.x, it runs only when something depends on it, so users put it
in ``tf.control_dependencies`` (the ``assert_*`` functions return it for that). A failed check raises
``InvalidArgumentError`` naming the op and listing the data it was given, in TF's words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dtypes
from .errors import InvalidArgumentError
from .graph import Operation, Tensor, get_default_graph
from .logging_ops import format_element
from .op_builder import apply_op, convert_to_tensor
from .ops import script_ops  # noqa: F401 - defines Assert and CheckNumerics
from .ops.math_ops import equal, greater, greater_equal, less, less_equal, not_equal, reduce_all
from .ops.state_ops import group, no_op


def _summary(value: Any, summarize: int) -> str:
    # TF's Assert shows strings as they are and numbers as tf.Print does: the first `summarize`, then "...".
    array = np.asarray(value)
    if array.dtype.kind in "SUO" and array.ndim == 0:
        item = array.item()
        return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
    flat = array.reshape(-1)
    limit = flat.size if summarize < 0 else min(summarize, flat.size)
    return " ".join(format_element(flat[i]) for i in range(limit)) + ("..." if limit < flat.size else "")


def assert_kernel(condition: Any, *data: Any, summarize: int, ctx: Any = None) -> tuple:
    """``Assert``: raise InvalidArgumentError listing ``data`` when ``condition`` is false."""
    if not bool(np.asarray(condition).reshape(-1)[0] if np.size(condition) == 1 else np.all(condition)):
        raise InvalidArgumentError("assertion failed: " + " ".join(f"[{_summary(d, summarize)}]" for d in data))
    return ()


def check_numerics_kernel(tensor: Any, *, message: str, ctx: Any = None) -> Any:
    """``CheckNumerics``: ``tensor`` unchanged, or InvalidArgumentError when it holds a NaN or an infinity."""
    array = np.asarray(tensor)
    finite = np.isfinite(array)
    if not finite.all():
        kinds = [k for k, bad in (("NaN", np.isnan(array).any()), ("Inf", np.isinf(array).any())) if bad]
        raise InvalidArgumentError(f"{message} : Tensor had {' and '.join(kinds)} values")
    return tensor


def check_kernels() -> dict:
    """``{op_name: host kernel}`` for Assert and CheckNumerics.

    Example:
        >>> sorted(check_kernels())
        ['Assert', 'CheckNumerics']
    """
    return {"Assert": assert_kernel, "CheckNumerics": check_numerics_kernel}


def Assert(condition: Any, data: list, summarize: int | None = None, name: str | None = None) -> Operation:  # noqa: N802 - TF name
    """An op that fails the run, listing ``data``, when the scalar bool ``condition`` is false.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> x = tf.placeholder(tf.float32, [])
        >>> check = tf.Assert(x > 0, ["x must be positive, got", x])
        >>> with tf.control_dependencies([check]):
        ...     y = tf.sqrt(x)
        >>> float(tf.Session().run(y, {x: 4.0}))
        2.0
    """
    condition = convert_to_tensor(condition, dtype=_dtypes.bool_)
    data = [convert_to_tensor(d) for d in data]
    apply_op("Assert", condition, data, T=[d.dtype.base_dtype for d in data], summarize=3 if summarize is None else
             summarize, name=name or "Assert")
    return get_default_graph().get_operations()[-1]


def _binary_check(check: Any, symbol: str, default_name: str) -> Any:
    def assert_fn(x: Any, y: Any, data: list | None = None, summarize: int | None = None, message: str | None = None,
                  name: str | None = None) -> Operation:
        with get_default_graph().name_scope(name or default_name):
            x, y = convert_to_tensor(x), convert_to_tensor(y)
            if data is None:
                data = [f"Condition x {symbol} y did not hold element-wise:", f"x ({x.name}) = ", x,
                        f"y ({y.name}) = ", y]
            if message is not None:
                data = [f"{message}.  "] + list(data)  # TF 2's wording (its compat.v1 is the reference)
            return Assert(reduce_all(check(x, y)), data, summarize=summarize)
    assert_fn.__name__ = default_name
    assert_fn.__doc__ = f"""An ``Assert`` that ``x {symbol} y`` holds element-wise (with broadcasting).

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.{default_name}(tf.constant([1, 2]), tf.constant([1, 2])).type
        'Assert'
    """
    return assert_fn


assert_equal = _binary_check(equal, "==", "assert_equal")
assert_none_equal = _binary_check(not_equal, "!=", "assert_none_equal")
assert_less = _binary_check(less, "<", "assert_less")
assert_less_equal = _binary_check(less_equal, "<=", "assert_less_equal")
assert_greater = _binary_check(greater, ">", "assert_greater")
assert_greater_equal = _binary_check(greater_equal, ">=", "assert_greater_equal")


def _sign_check(check: Any, words: str, default_name: str) -> Any:
    def assert_fn(x: Any, data: list | None = None, summarize: int | None = None, message: str | None = None,
                  name: str | None = None) -> Operation:
        with get_default_graph().name_scope(name or default_name):
            x = convert_to_tensor(x)
            if data is None:
                # TF 2's wording (its compat.v1 is the reference): the message leads, empty when none is given.
                data = ["" if message is None else f"{message}.  ", f"Condition x {words} did not hold element-wise:",
                        f"x ({x.name}) = ", x]
            elif message is not None:
                data = [f"{message}.  "] + list(data)
            return Assert(reduce_all(check(x, np.zeros((), x.dtype.base_dtype.np_dtype))), data, summarize=summarize)
    assert_fn.__name__ = default_name
    assert_fn.__doc__ = f"""An ``Assert`` that ``x {words}`` holds element-wise.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.{default_name}(tf.constant([1.0, 2.0])).type
        'Assert'
    """
    return assert_fn


assert_positive = _sign_check(greater, "> 0", "assert_positive")
assert_negative = _sign_check(less, "< 0", "assert_negative")
assert_non_negative = _sign_check(greater_equal, ">= 0", "assert_non_negative")
assert_non_positive = _sign_check(less_equal, "<= 0", "assert_non_positive")


def assert_rank(x: Any, rank: int, message: str | None = None, name: str | None = None) -> Operation:
    """Check that ``x`` has rank ``rank``: at build time when its rank is known (ValueError), else a no-op group.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.assert_rank(tf.zeros([2, 3]), 2).type
        'NoOp'
    """
    x = convert_to_tensor(x)
    if x.shape.rank is not None and x.shape.rank != rank:
        raise ValueError(f"{message + ' ' if message else ''}Tensor {x.name} must have rank {rank}. Received rank "
                         f"{x.shape.rank}, shape {x.shape}")
    return no_op(name=name or "assert_rank")


def assert_type(tensor: Any, tf_type: Any, message: str | None = None, name: str | None = None) -> Operation:
    """Check at build time that ``tensor`` has dtype ``tf_type`` (TypeError naming both otherwise).

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.assert_type(tf.constant(1.0), tf.float32).type
        'NoOp'
    """
    tensor = convert_to_tensor(tensor)
    expected = _dtypes.as_dtype(tf_type)
    if tensor.dtype.base_dtype != expected:
        raise TypeError(f"{message + ' ' if message else ''}{tensor.name} must be of type {expected.name}; got "
                        f"{tensor.dtype.name}")
    return no_op(name=name or "assert_type")


def check_numerics(tensor: Any, message: str, name: str | None = None) -> Tensor:
    """``tensor`` unchanged; the run fails, naming ``message``, if it holds a NaN or an infinity.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> x = tf.placeholder(tf.float32, [2])
        >>> y = tf.check_numerics(tf.log(x), "log of x")
        >>> tf.Session().run(y, {x: [1.0, 1.0]}).tolist()
        [0.0, 0.0]
    """
    tensor = convert_to_tensor(tensor)
    return apply_op("CheckNumerics", tensor, message=message, name=name or "CheckNumerics")[0]


def verify_tensor_all_finite(t: Any, msg: str, name: str | None = None) -> Tensor:
    """TF 1.x's name for ``check_numerics``.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.verify_tensor_all_finite(tf.constant([1.0]), "x").op.type
        'CheckNumerics'
    """
    return check_numerics(t, msg, name=name)


def add_check_numerics_ops() -> Operation:
    """A group of ``CheckNumerics`` over every floating output in the default graph, to run with a train op.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> y = tf.constant([1.0]) * 2.0
        >>> tf.add_check_numerics_ops().type
        'NoOp'
    """
    checks = []
    for op in list(get_default_graph().get_operations()):
        if op.type == "CheckNumerics":
            continue
        for t in op.outputs:
            if t.dtype.base_dtype.is_floating:
                with get_default_graph().control_dependencies(checks[-1:]):
                    checks.append(check_numerics(t, f"{op.name}:{t.value_index}").op)
    return group(*checks) if checks else group()


__all__ = ["Assert", "assert_equal", "assert_none_equal", "assert_less", "assert_less_equal", "assert_greater",
           "assert_greater_equal", "assert_positive", "assert_negative", "assert_non_negative", "assert_non_positive",
           "assert_rank", "assert_type", "check_numerics", "verify_tensor_all_finite", "add_check_numerics_ops"]
