"""The host kernels of ``SaveV2`` and ``RestoreV2``: a Saver's graph ops, writing and reading tensor bundles.

``SaveV2`` writes through the ``tf_bundle`` format (atomically, as ``Saver.save`` does). ``RestoreV2`` reads
whatever format the files at the prefix are in (as ``Saver.restore`` does), so the same restore op loads a
TensorFlow checkpoint or one saved here in another format. Errors name the op, the checkpoint and the tensor.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes as _dtypes
from ..errors import InvalidArgumentError, NotFoundError, UnimplementedError
from .formats import require_format
from .formats.tf_bundle import TfBundleFormat

_BUNDLE = TfBundleFormat()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _strings(value: Any, what: str, op: str) -> list[str]:
    arr = np.asarray(value, dtype=object)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{op}: '{what}' must be a vector of strings, got shape {list(arr.shape)}")
    return [_text(v) for v in arr.tolist()]


def _names_and_slices(prefix: Any, tensor_names: Any, shape_and_slices: Any, count: int | None,
                      op: str) -> tuple[str, list[str]]:
    path = np.asarray(prefix, dtype=object)
    if path.ndim != 0:
        raise InvalidArgumentError(f"{op}: 'prefix' must be a scalar string, got shape {list(path.shape)}")
    names = _strings(tensor_names, "tensor_names", op)
    slices = _strings(shape_and_slices, "shape_and_slices", op)
    if len(slices) != len(names) or (count is not None and count != len(names)):
        raise InvalidArgumentError(f"{op}: {len(names)} tensor_names, {len(slices)} shape_and_slices"
                                   + (f" and {count} tensors" if count is not None else "") + "; they must match")
    sliced = [n for n, s in zip(names, slices) if s]
    if sliced:
        raise UnimplementedError(f"{op}: tensor '{sliced[0]}' names slice '{slices[names.index(sliced[0])]}'; "
                                 "Tensorflux saves and restores only whole tensors (every shape_and_slices entry empty)")
    return _text(path.item()), names


def save_v2(prefix: Any, tensor_names: Any, shape_and_slices: Any, *tensors: Any, dtypes: list,
            ctx: Any = None) -> tuple:
    """``SaveV2``: write ``tensors`` under ``tensor_names`` to the tensor bundle ``prefix``.

    Example:
        >>> import numpy as np, os, tempfile
        >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
        >>> save_v2(np.array(prefix.encode(), object), np.array([b"w"], object), np.array([b""], object),
        ...         np.ones(2, np.float32), dtypes=[_dtypes.float32])
        ()
        >>> restore_v2(np.array(prefix.encode(), object), np.array([b"w"], object), np.array([b""], object),
        ...            dtypes=[_dtypes.float32])
        (array([1., 1.], dtype=float32),)
    """
    op = f"op '{ctx.op_name}' (SaveV2)" if ctx is not None else "SaveV2"
    path, names = _names_and_slices(prefix, tensor_names, shape_and_slices, len(tensors), op)
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InvalidArgumentError(f"{op}: tensor name '{twice[0]}' is given more than once")
    _BUNDLE.write(path, {name: np.asarray(value) for name, value in zip(names, tensors)})
    return ()


def restore_v2(prefix: Any, tensor_names: Any, shape_and_slices: Any, *, dtypes: list, ctx: Any = None) -> tuple:
    """``RestoreV2``: the tensors ``tensor_names`` of the checkpoint ``prefix``, each checked against ``dtypes``.

    Example:
        >>> restore_v2(np.array(b"/nonexistent/model", object), np.array([], object), np.array([], object),
        ...            dtypes=[])
        Traceback (most recent call last):
        ...
        tensorflux._internal.errors.NotFoundError: RestoreV2: No checkpoint found at '/nonexistent/model': ...
    """
    op = f"op '{ctx.op_name}' (RestoreV2)" if ctx is not None else "RestoreV2"
    path, names = _names_and_slices(prefix, tensor_names, shape_and_slices, len(dtypes), op)
    try:
        fmt_name, fmt = require_format(path)
    except NotFoundError as exc:
        raise NotFoundError(f"{op}: {exc.message}") from None
    stored = fmt.read(path, names=names) if fmt_name == "tf_bundle" else fmt.read(path)
    out = []
    for name, want in zip(names, dtypes):
        if name not in stored:
            raise NotFoundError(f"{op}: Key {name} not found in checkpoint '{path}'")
        value = stored[name]
        got = "string" if value.dtype.kind in "OSU" else value.dtype.name
        if got != _dtypes.as_dtype(want).name:
            raise InvalidArgumentError(f"{op}: tensor '{name}' in checkpoint '{path}' has dtype {got}, but the op "
                                       f"expects {_dtypes.as_dtype(want).name}")
        out.append(value)
    return tuple(out)


def checkpoint_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for SaveV2 and RestoreV2; a device plugin registers them (the cpu plugin does).

    Example:
        >>> sorted(checkpoint_kernels())
        ['RestoreV2', 'SaveV2']
    """
    return {"SaveV2": save_v2, "RestoreV2": restore_v2}
