"""Compare symbolic gradients (``tf.gradients``) with numeric ones from finite differences, as TF's checker.

Jacobians are laid out as in TF: ``J[i, j] = d y.flat[j] / d x.flat[i]``, one row per element of x.
The numeric Jacobian uses central differences. For float64 inputs two of them, with steps ``delta``
and ``delta / 2``, are combined by Richardson extrapolation, which cancels the ``delta**2`` error
term: with TF's default ``delta=1e-3`` the truncation error drops from about 1e-7 to about 1e-13.
At lower precisions rounding error dominates instead, and the plain central difference is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Tensor
from .shapes import as_shape


def compute_gradient(x: Any, x_shape: Any, y: Any, y_shape: Any, x_init_value: Any = None, delta: float = 1e-3,
                     init_targets: Any = None, extra_feed_dict: dict | None = None) -> Any:
    """The theoretical and numerical Jacobians of ``y`` with respect to ``x``.

    ``x`` is a tensor (usually a placeholder) or a list of them, fed with ``x_init_value`` (default:
    fixed pseudo-random values in [0, 1)). Returns ``(theoretical, numerical)``, each of shape
    ``[x.size, y.size]`` — a list of such pairs when ``x`` is a list. Runs in the default session, or
    in a temporary one on ``y``'s graph.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float64, [3])
        >>> theoretical, numerical = tf.test.compute_gradient(x, [3], x * x, [3], x_init_value=[1.0, 2.0, 3.0])
        >>> theoretical.diagonal()
        array([2., 4., 6.])
    """
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    shapes = list(x_shape) if isinstance(x, (list, tuple)) else [x_shape]
    if len(shapes) != len(xs):
        raise ValueError(f"compute_gradient: {len(xs)} tensors in x but {len(shapes)} shapes in x_shape")
    if x_init_value is None:
        values = [None] * len(xs)
    else:
        values = list(x_init_value) if isinstance(x, (list, tuple)) else [x_init_value]
    xs = [_as_tensor(t, "x") for t in xs]
    y = _as_tensor(y, "y")
    arrays = [_initial_value(t, s, v) for t, s, v in zip(xs, shapes, values)]
    y_shape = tuple(as_shape(y_shape).as_list())
    pairs = _jacobians(xs, arrays, y, y_shape, delta, init_targets, dict(extra_feed_dict or {}))
    return pairs if isinstance(x, (list, tuple)) else pairs[0]


def compute_gradient_error(x: Any, x_shape: Any, y: Any, y_shape: Any, x_init_value: Any = None, delta: float = 1e-3,
                           init_targets: Any = None, extra_feed_dict: dict | None = None) -> float:
    """The largest absolute difference between the theoretical and numerical Jacobians of ``y`` wrt ``x``.

    Takes the same arguments as :func:`compute_gradient`.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float64, [2, 3])
        >>> y = tf.reduce_sum(tf.exp(x), axis=1)
        >>> tf.test.compute_gradient_error(x, [2, 3], y, [2], delta=1e-6) < 1e-6
        True
    """
    result = compute_gradient(x, x_shape, y, y_shape, x_init_value, delta, init_targets, extra_feed_dict)
    pairs = result if isinstance(result, list) else [result]
    return float(max((np.max(np.abs(t - n)) if t.size else 0.0) for t, n in pairs))


def _as_tensor(t: Any, what: str) -> Tensor:
    if isinstance(t, Tensor):
        return t
    if hasattr(t, "_as_tensor"):
        return t._as_tensor()
    raise TypeError(f"compute_gradient: {what} must be a Tensor or Variable, got {type(t).__name__} {t!r}")


def _initial_value(t: Tensor, shape: Any, value: Any) -> np.ndarray:
    if not t.dtype.is_floating:
        raise TypeError(f"compute_gradient: x '{t.name}' is {t.dtype.name}; only floating-point tensors have gradients")
    dims = tuple(as_shape(shape).as_list())
    if value is None:
        value = np.random.default_rng(0).random(dims)
    arr = np.asarray(value, dtype=t.dtype.np_dtype)
    if arr.shape != dims:
        raise ValueError(f"compute_gradient: x_init_value for '{t.name}' has shape {list(arr.shape)}, but x_shape is "
                         f"{list(dims)}")
    return arr


def _jacobians(xs: list, arrays: list, y: Tensor, y_shape: tuple, delta: float, init_targets: Any,
               extra: dict) -> list:
    from .gradients import gradients
    from .indexed_slices import IndexedSlices, densify
    from .ops.array_ops import placeholder
    from .session import Session, get_default_session

    graph = y.graph
    with graph.as_default():
        dy = placeholder(y.dtype, y_shape, name="compute_gradient_dy")
        grads = gradients(y, xs, grad_ys=dy, name="compute_gradient")
        # The Jacobian is dense: a row-sparse gradient (of a gather) is summed into its dense tensor.
        grads = [densify(g) if isinstance(g, IndexedSlices) else g for g in grads]
    session = get_default_session()
    own = session is None or session.graph is not graph
    if own:
        session = Session(graph=graph)
    try:
        if init_targets is not None:
            session.run(init_targets, feed_dict=extra or None)
        feed = dict(extra)
        feed.update(zip(xs, arrays))
        y_size = int(np.prod(y_shape, dtype=np.int64))
        theoretical = [np.zeros((a.size, y_size)) for a in arrays]
        fetch = [g for g in grads if g is not None]
        for j in range(y_size if fetch else 0):
            unit = np.zeros(y_size, dtype=y.dtype.np_dtype)
            unit[j] = 1
            feed[dy] = unit.reshape(y_shape)
            values = iter(session.run(fetch, feed_dict=feed))
            for i, g in enumerate(grads):
                if g is not None:
                    theoretical[i][:, j] = np.reshape(next(values), -1)
        feed.pop(dy, None)
        numerical = []
        for x, a in zip(xs, arrays):
            jac = np.zeros((a.size, y_size))
            for k in range(a.size):
                if a.dtype == np.float64:
                    jac[k] = (4 * _central(session, y, feed, x, a, k, delta / 2) - _central(session, y, feed, x, a, k, delta)) / 3
                else:
                    jac[k] = _central(session, y, feed, x, a, k, delta)
            feed[x] = a
            numerical.append(jac)
        return list(zip(theoretical, numerical))
    finally:
        if own:
            session.close()


def _central(session: Any, y: Tensor, feed: dict, x: Tensor, a: np.ndarray, k: int, step: float) -> np.ndarray:
    """(y(x + step * e_k) - y(x - step * e_k)) / (2 * step), flattened."""
    rows = []
    for sign in (1, -1):
        moved = a.copy()
        moved.flat[k] += sign * step
        feed[x] = moved
        rows.append(np.reshape(session.run(y, feed_dict=feed), -1).astype(np.float64))
    return (rows[0] - rows[1]) / (2 * step)
