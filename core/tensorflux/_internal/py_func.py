"""``tf.py_func`` and ``tf.numpy_function``: a Python function as a graph op, run on the host.

A function object cannot live in a GraphDef, so, as TF does, the op holds a token string (``pyfunc_N``) and the
process-wide token table (``data/tokens.py``) maps it to the function for as long as the building graph lives. A
GraphDef holding such an op therefore runs only in the process that built it: elsewhere its token names nothing
and the op fails, naming the token.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import dtypes as _dtypes
from .data import tokens
from .errors import InvalidArgumentError, NotFoundError, OutOfRangeError
from .graph import Operation, Tensor, get_default_graph
from .op_builder import apply_op
from .ops import script_ops  # noqa: F401 - defines PyFunc and PyFuncStateless


def _lookup(token: str) -> Callable:
    """The function of ``token``; NotFoundError when this process registered none under it."""
    try:
        return tokens.lookup(token, f"py_func '{token}'")
    except NotFoundError:
        raise NotFoundError(f"py_func token '{token}' names no Python function in this process: a graph "
                            "holding a py_func op runs only in the process that built it") from None


def py_func(func: Callable, inp: Any, Tout: Any, stateful: bool = True,  # noqa: N803 - TF's argument name
            name: str | None = None) -> Any:
    """Wrap the Python function ``func`` as an op: it receives numpy arrays and returns values of ``Tout``.

    ``Tout`` is one dtype (one tensor returned) or a list of them (a list returned; an empty list gives the
    op). The outputs' shapes are unknown until ``set_shape``. The function runs on the host in this process
    only (it is not serialized), and the op has no gradient, as in TF.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> tf.reset_default_graph()
        >>> y = tf.py_func(lambda x: np.sort(x), [tf.constant([3, 1, 2])], tf.int32)
        >>> tf.Session().run(y)
        array([1, 2, 3], dtype=int32)
    """
    if not callable(func):
        raise TypeError(f"py_func: func must be callable, got {type(func).__name__}")
    inputs = list(inp) if isinstance(inp, (list, tuple)) else [inp]
    returns_list = isinstance(Tout, (list, tuple))
    touts = [_dtypes.as_dtype(t) for t in (Tout if returns_list else [Tout])]
    graph = get_default_graph()
    token = tokens.register(graph, "pyfunc", func)
    outputs = apply_op("PyFunc" if stateful else "PyFuncStateless", inputs, token=token, Tout=touts, name=name)
    if not returns_list:
        return outputs[0]
    if not outputs:
        return _newest_op(graph)
    return outputs


def numpy_function(func: Callable, inp: Any, Tout: Any, name: str | None = None) -> Any:  # noqa: N803
    """``tf.numpy_function``: :func:`py_func` under its TF 1.14+ name (always stateful).

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> float(tf.Session().run(tf.numpy_function(lambda x: x * 2, [tf.constant(2.0)], tf.float32)))
        4.0
    """
    return py_func(func, inp, Tout, stateful=True, name=name)


def _newest_op(graph: Any) -> Operation:
    return graph.get_operations()[-1]


def py_func_kernel(*inputs: Any, token: str, Tout: list, ctx: Any = None) -> tuple:  # noqa: N803 - TF's attr
    """The host kernel of ``PyFunc``: call the function of ``token``, check its results against ``Tout``.

    Example:
        >>> import numpy as np
        >>> import tensorflux as tf
        >>> token = tokens.register(tf.get_default_graph(), "pyfunc", lambda a: a + 1)
        >>> py_func_kernel(np.array(1, np.int32), token=token, Tout=[_dtypes.int32])
        (array(2, dtype=int32),)
    """
    func = _lookup(token)
    try:
        result = func(*inputs)
    except StopIteration as exc:  # TF's mapping: a function that ran out of values ends the input
        raise OutOfRangeError(f"py_func '{token}' raised StopIteration: {exc}") from exc
    values = _as_values(result, len(Tout), token)
    return tuple(_checked(value, i, want, token, Tout) for i, (value, want) in enumerate(zip(values, Tout)))


def _as_values(result: Any, count: int, token: str) -> list:
    if result is None:
        values: list = []
    elif isinstance(result, (list, tuple)):
        values = list(result)
    else:
        values = [result]
    if len(values) != count:
        raise InvalidArgumentError(f"py_func '{token}' returned {len(values)} values, but Tout lists {count} dtypes")
    return values


def _checked(value: Any, index: int, want: _dtypes.DType, token: str, tout: list) -> np.ndarray:
    names = "[" + ", ".join(d.name for d in tout) + "]"
    if isinstance(value, Tensor):
        raise InvalidArgumentError(f"{index}-th value returned by py_func '{token}' is a graph Tensor ('{value.name}'); "
                                   f"return numpy values of Tout {names}")
    if want is _dtypes.string:
        array = np.asarray(value, dtype=object)
        if any(not isinstance(v, (bytes, str)) for v in array.reshape(-1)):
            raise InvalidArgumentError(f"{index}-th value returned by py_func '{token}' holds non-strings, but "
                                       f"Tout {names} expects string")
        return array
    array = np.asarray(value)
    if array.dtype != want.np_dtype:
        try:
            got = _dtypes.as_dtype(array.dtype).name
        except TypeError:
            got = str(array.dtype)
        raise InvalidArgumentError(f"{index}-th value returned by py_func '{token}' is {got}, but expects "
                                   f"{want.name} (Tout {names})")
    return array
