"""A compiled plan made ready to run again: Session.run's per-call work, done once per signature.

``prepare`` turns a plan, its feeds and its fetch structure into one function from feed values to results.
Everything that does not depend on the values (each feed's expected dtype and shape, which fetches need a
copy to the host, how the results nest) is settled when it is made, so a repeated ``Session.run`` or a
``make_callable`` callable runs one such function: after a large transfer (a 4 MB Allreduce) has left the
caches cold, every further Python function or object touched costs microseconds.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from . import dtypes as _dtypes
from .devices import Device
from .errors import UnavailableError
from .graph import Operation, Tensor
from .tracing import run_traced

# Fetch leaves whose equality is identity or plain value (a name), so a key built from them never matches
# a different request (a nested structure could: a namedtuple inside equals a plain tuple inside).
_LEAVES = (Tensor, Operation, str)


def fast_key(fetches: Any, feed_dict: Any) -> tuple:
    """The key under which Session.run finds a prepared run for ``fetches`` and ``feed_dict``'s keys, as given.

    A list, tuple or namedtuple of fetches is keyed with its type: a namedtuple equals a plain tuple of the
    same items, and their results differ. Unhashable parts raise TypeError, which Session.run takes as "not
    prepared". Only ``keyable`` fetches are ever stored, so a nested structure cannot match a flat one.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32)
        >>> fast_key([x], {x: 1.0}) == fast_key([x], {x: 2.0}) != fast_key((x,), {x: 1.0})
        True
    """
    head = (type(fetches), *fetches) if isinstance(fetches, (list, tuple)) else fetches
    return (head, *feed_dict) if feed_dict else (head,)


def keyable(fetches: Any) -> bool:
    """Whether ``fast_key`` of ``fetches`` names one fetch structure only: a leaf (tensor, op, name or
    graph element compared by identity) or a flat list or tuple of leaves.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.constant(1.0)
        >>> keyable(x), keyable([x, "c:0"]), keyable({"x": x}), keyable([[x]])
        (True, True, False, False)
    """
    parts = fetches if type(fetches) in (list, tuple) else (fetches,)
    return all(isinstance(p, _LEAVES) or (hasattr(p, "_as_graph_element") and type(p).__eq__ is object.__eq__)
               for p in parts)


def prepare(session: Any, plan: Any, mapper: Any, feed_tensors: list) -> Callable[..., Any]:
    """One function ``run(values, options=None, run_metadata=None)`` running ``plan`` on feed ``values`` (in
    the order of ``feed_tensors``) and returning the results in the fetches' structure (``mapper``'s ``build``,
    or the one value when ``mapper.single``), as Session.run does.

    A feed that is already an array of the tensor's dtype and exact static shape is used as it is (never
    copied); others are checked and converted. Host results are returned as they are (never copied) except
    a 0-d array, which becomes its scalar, and a read-only array (a fed value fetched back), which is copied.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> x = tf.placeholder(tf.float32, [2])
        >>> with tf.Session() as sess:
        ...     run = sess.make_callable(x * 2, [x])
        ...     run(np.ones(2, np.float32)).tolist()
        [2.0, 2.0]
    """
    specs = [(t, t.dtype.np_dtype, t._shape._dims) for t in feed_tensors]
    host = all(d is None or d.host_memory for d in plan.fetch_devices)
    devices = plan.fetch_devices
    plan_run = plan.run
    state = session._state
    # Weakly: the session keeps this in its caches, and a cycle would keep a dropped session's values alive
    # until the cycle collector ran.
    session_ref = weakref.ref(session)
    build, single = mapper.build, mapper.single

    def run(values: Any, options: Any = None, run_metadata: Any = None) -> Any:
        feeds = []
        for (t, dtype, dims), v in zip(specs, values):
            # The common feed, an array of the right dtype and shape, costs an identity and a tuple comparison.
            if type(v) is not np.ndarray or v.dtype is not dtype or v.shape != dims:
                v = check_feed(t, v)
            feeds.append(v)
        try:
            out = plan_run(feeds) if options is None else run_traced(plan, feeds, state, options, run_metadata)
        except UnavailableError as exc:
            owner = session_ref()
            if owner is not None:
                owner._forget_placement(exc)
            raise
        if host:
            for i, v in enumerate(out):
                if isinstance(v, np.ndarray) and (v.ndim == 0 or not v.flags.writeable):
                    out[i] = to_host(v, None)
        else:
            out = [to_host(v, d) for v, d in zip(out, devices)]
        return out[0] if single else build(out)

    return run


def check_feed(tensor: Tensor, value: Any) -> Any:
    """``value`` as an array to feed ``tensor``: as it is when its dtype is right (never copied), else converted
    when that loses nothing; raises naming the tensor when the dtype or the shape does not fit.

    Example:
        >>> import tensorflux as tf
        >>> check_feed(tf.placeholder(tf.float32, [None]), [1, 2]).dtype
        dtype('float32')
    """
    dtype = tensor.dtype
    if isinstance(value, np.ndarray) and value.dtype == dtype.np_dtype:
        arr = value
    else:
        arr = _convert_feed(tensor, value, dtype)
    shape = tensor._shape
    dims = shape._dims
    # An exactly matching shape (the common feed) costs one tuple comparison.
    if dims is not None and arr.shape != dims:
        if len(dims) != arr.ndim or any(d is not None and d != a for d, a in zip(dims, arr.shape)):
            raise ValueError(
                f"Cannot feed value of shape {tuple(arr.shape)} for Tensor '{tensor.name}', which has shape {shape}"
            )
    return arr


def _convert_feed(tensor: Tensor, value: Any, dtype: _dtypes.DType) -> np.ndarray:
    if isinstance(value, (Tensor, Operation)):
        raise TypeError(f"The value of a feed cannot be a tf.Tensor object (feeding '{tensor.name}'); "
                        "feed Python scalars, lists or numpy arrays")
    if dtype is _dtypes.string:
        return _dtypes.as_string_array(value, f"Feed for '{tensor.name}'")
    try:
        src = np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        raise TypeError(f"Cannot convert the feed for '{tensor.name}' to a numpy array: {exc}") from None
    if src.dtype.kind in "USO":
        raise TypeError(f"Feed for '{tensor.name}' expects {dtype.name} values, but was given "
                        f"{'strings' if src.dtype.kind in 'US' else 'objects'} ({src.dtype})")
    ok = src.dtype == dtype.np_dtype or np.can_cast(src.dtype, dtype.np_dtype, "same_kind") or (
        dtype.is_floating and src.dtype.kind in "iub") or (dtype.is_integer and src.dtype.kind in "iub")
    if not ok:
        raise TypeError(
            f"Feed for '{tensor.name}' expects dtype {dtype.name}, but was given {src.dtype} values that cannot be "
            "converted without loss"
        )
    if dtype.is_integer and src.dtype != dtype.np_dtype and src.dtype.kind in "iu" and src.size:
        # astype would wrap silently (2**40 -> 0 in int32); refuse like a lossy float feed.
        info = np.iinfo(dtype.np_dtype)
        low, high = src.min(), src.max()
        if low < info.min or high > info.max:
            bad = low if low < info.min else high
            raise ValueError(f"Feed for '{tensor.name}' expects dtype {dtype.name} (range [{info.min}, {info.max}]), "
                             f"but was given the value {bad}")
    return src.astype(dtype.np_dtype, copy=False)


def to_host(value: Any, device: Device | None) -> Any:
    """A fetched ``value`` as Session.run returns it: on the host, a 0-d array as its scalar, and a read-only
    array (a fed value fetched back) copied; any other array as it is.

    Example:
        >>> import numpy as np
        >>> ones = np.ones(2)
        >>> float(to_host(np.array(2.5), None)), to_host(ones, None) is ones
        (2.5, True)
    """
    if device is not None and not device.host_memory:
        value = device.to_host(value)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]
        if not value.flags.writeable:
            return value.copy()
    return value
