"""Composite neural-network layers built from other ops (TF's ``nn_impl``): losses, dropout, normalization, lookup.

These add no op types of their own, so their gradients follow from the ops they are made of.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, constant_value, convert_to_tensor
from . import array_ops, math_ops
from .nn_ops import check_logits


def sigmoid_cross_entropy_with_logits(logits: Any = None, labels: Any = None, name: str | None = None) -> Tensor:
    """Elementwise logistic loss ``max(x, 0) - x * z + log(1 + exp(-|x|))``, stable for any logits x.

    Pass ``labels=`` and ``logits=`` by keyword; the 2016 positional order ``(logits, labels)`` works too.

    Example:
        >>> import tensorflux as tf
        >>> loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0], logits=[0.0])
        >>> tf.Session().run(loss)
        array([0.6931472], dtype=float32)
    """
    fn = "sigmoid_cross_entropy_with_logits"
    if labels is None or logits is None:
        raise ValueError(f"{fn} needs both labels and logits")
    x = convert_to_tensor(logits)
    check_logits(x, labels, fn)
    with name_scope(name, default_name="logistic_loss"):
        z = math_ops.cast(convert_to_tensor(labels, preferred_dtype=x.dtype), x.dtype)
        if not x.shape.is_compatible_with(z.shape):
            raise ValueError(f"{fn}: logits '{x.name}' and labels '{z.name}' must have the same shape, "
                             f"got {x.shape} and {z.shape}")
        zeros = array_ops.zeros_like(x)
        positive = math_ops.greater_equal(x, zeros)
        relu_logits = array_ops.where(positive, x, zeros)
        neg_abs_logits = array_ops.where(positive, math_ops.negative(x), x)
        return math_ops.add(math_ops.subtract(relu_logits, math_ops.multiply(x, z)),
                            math_ops.log1p(math_ops.exp(neg_abs_logits)))


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: int | None = None, name: str | None = None,
            rate: Any = None) -> Tensor:
    """Zero each element with probability ``rate`` (= ``1 - keep_prob``) and scale the rest by ``1 / keep_prob``.

    Give exactly one of ``keep_prob`` and ``rate``; either may be a tensor (e.g. a placeholder fed 1.0 at test
    time). ``seed`` with the graph seed makes the mask reproducible. ``noise_shape`` broadcasts one mask.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.dropout([1.0, 2.0], keep_prob=1.0))
        array([1., 2.], dtype=float32)
    """
    from .random_ops import random_uniform

    if (keep_prob is None) == (rate is None):
        raise ValueError(f"dropout needs exactly one of keep_prob and rate, got keep_prob={keep_prob!r} and rate={rate!r}")
    with name_scope(name, default_name="dropout"):
        x = convert_to_tensor(x)
        if not x.dtype.is_floating:
            raise TypeError(f"dropout: x '{x.name}' must be floating point, got {x.dtype.name}")
        if keep_prob is None:
            if not isinstance(rate, Tensor):
                _check_probability(rate, "rate")
                keep_prob = 1.0 - float(rate)
            else:
                keep_prob = math_ops.subtract(np.array(1, dtype=rate.dtype.np_dtype), rate, name="keep_prob")
        if not isinstance(keep_prob, Tensor):
            _check_probability(keep_prob, "keep_prob")
            if float(keep_prob) == 1.0:
                return x
            keep_prob = np.array(keep_prob, dtype=x.dtype.np_dtype)
        else:
            keep_prob = math_ops.cast(keep_prob, x.dtype)
        shape = noise_shape if noise_shape is not None else (
            x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x))
        noise = random_uniform(shape, seed=seed, dtype=x.dtype)
        binary = math_ops.floor(math_ops.add(noise, keep_prob))
        return math_ops.multiply(apply_op("RealDiv", x, keep_prob)[0], binary)


def _check_probability(p: Any, what: str) -> None:
    p = float(p)
    ok, allowed = (0.0 < p <= 1.0, "(0, 1]") if what == "keep_prob" else (0.0 <= p < 1.0, "[0, 1)")
    if not ok:
        raise ValueError(f"dropout: {what} must be a scalar in the range {allowed}, got {p}")


def moments(x: Any, axes: Any, shift: Any = None, name: str | None = None, keep_dims: bool | None = None,
            keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """Mean and variance of ``x`` over ``axes`` (float16 inputs are accumulated in float32).

    ``shift`` is accepted for TF compatibility and unused, as in TF 1.x's current implementation.

    Example:
        >>> import tensorflux as tf
        >>> mean, var = tf.nn.moments(tf.constant([1.0, 2.0, 3.0, 4.0]), axes=[0])
        >>> print(*tf.Session().run([mean, var]))
        2.5 1.25
    """
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with name_scope(name, default_name="moments"):
        x = convert_to_tensor(x)
        y = math_ops.cast(x, dt.float32) if x.dtype is dt.float16 else x
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        variance = math_ops.reduce_mean(
            math_ops.squared_difference(y, array_ops.stop_gradient(mean)), axes, keepdims=True, name="variance")
        if not keep:
            static = constant_value(axes) if isinstance(axes, Tensor) else axes
            if static is None:
                raise ValueError(f"moments: axes '{axes.name}' must be known when the graph is built, or pass "
                                 "keep_dims=True")
            squeeze_axes = [int(a) for a in np.reshape(static, -1)]
            mean = array_ops.squeeze(mean, squeeze_axes)
            variance = array_ops.squeeze(variance, squeeze_axes)
        if x.dtype is dt.float16:
            return math_ops.cast(mean, dt.float16), math_ops.cast(variance, dt.float16)
        return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, variance_epsilon: float,
                        name: str | None = None) -> Tensor:
    """``scale * (x - mean) / sqrt(variance + variance_epsilon) + offset``; ``offset``/``scale`` may be None.

    Example:
        >>> import tensorflux as tf
        >>> y = tf.nn.batch_normalization(tf.constant([1.0, 3.0]), 2.0, 1.0, None, None, 0.0)
        >>> tf.Session().run(y)
        array([-1.,  1.], dtype=float32)
    """
    with name_scope(name, default_name="batchnorm"):
        x = convert_to_tensor(x)
        eps = np.array(variance_epsilon, dtype=x.dtype.np_dtype)
        inv = math_ops.rsqrt(math_ops.add(_as(variance, x), eps))
        if scale is not None:
            inv = math_ops.multiply(inv, _as(scale, x))
        shift = math_ops.multiply(_as(mean, x), inv)
        shift = math_ops.negative(shift) if offset is None else math_ops.subtract(_as(offset, x), shift)
        return math_ops.add(math_ops.multiply(x, inv), shift)


def _as(value: Any, like: Tensor) -> Tensor:
    t = convert_to_tensor(value, preferred_dtype=like.dtype)
    return math_ops.cast(t, like.dtype)


def embedding_lookup(params: Any, ids: Any, partition_strategy: str = "mod", name: str | None = None,
                     validate_indices: bool = True, max_norm: float | None = None) -> Tensor:
    """Rows of ``params`` at ``ids``; ``params`` may be one tensor or a list of shards.

    With several shards, ``partition_strategy`` says how ids map to them as in TF: ``"mod"`` puts id ``i``
    in shard ``i % n``; ``"div"`` fills the shards in contiguous blocks (their first dimensions must be
    known). ``max_norm`` clips each looked-up embedding to that L2 norm.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.embedding_lookup([[1.0, 2.0], [3.0, 4.0]], [1, 1]))
        array([[3., 4.],
               [3., 4.]], dtype=float32)
    """
    shards = list(params) if isinstance(params, (list, tuple)) and params and _is_tensorish(params[0]) else [params]
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"embedding_lookup: partition_strategy must be 'mod' or 'div', got {partition_strategy!r}")
    with name_scope(name, default_name="embedding_lookup"):
        ids = convert_to_tensor(ids)
        if len(shards) == 1:
            out = array_ops.gather(shards[0], ids)
        else:
            out = _sharded_lookup([convert_to_tensor(s) for s in shards], ids, partition_strategy)
        return out if max_norm is None else _clip_rows(out, ids.shape.rank, max_norm)


def _is_tensorish(v: Any) -> bool:
    return isinstance(v, Tensor) or hasattr(v, "_as_tensor")


def _sharded_lookup(shards: list, ids: Tensor, strategy: str) -> Tensor:
    n, idt = len(shards), ids.dtype.np_dtype
    if strategy == "mod":
        shard_of, local = math_ops.mod(ids, np.array(n, idt)), math_ops.floordiv(ids, np.array(n, idt))
    else:
        sizes = [s.shape[0] if s.shape.rank else None for s in shards]
        if any(sz is None for sz in sizes):
            raise ValueError("embedding_lookup: partition_strategy='div' needs the first dimension of every shard "
                             f"known, got shapes {[str(s.shape) for s in shards]}")
        starts = np.cumsum([0] + sizes[:-1]).astype(idt)
        past = math_ops.greater_equal(array_ops.expand_dims(ids, -1), starts[1:])
        shard_of = math_ops.reduce_sum(math_ops.cast(past, ids.dtype), axis=-1)
        local = math_ops.subtract(ids, array_ops.gather(starts, shard_of))
    out = None
    for i, shard in enumerate(shards):
        rows = shard.shape[0] if shard.shape.rank else None
        last = np.array(rows - 1, idt) if rows else math_ops.cast(math_ops.subtract(array_ops.shape(shard)[0], 1), ids.dtype)
        picked = array_ops.gather(shard, math_ops.minimum(local, last))  # out-of-shard ids read a valid row, then lose
        if out is None:
            out = picked
            continue
        mask = math_ops.equal(shard_of, np.array(i, idt))
        if picked.shape.rank is None or ids.shape.rank is None:
            raise ValueError("embedding_lookup: several shards need ids and params of known rank")
        for _ in range(picked.shape.rank - ids.shape.rank):
            mask = array_ops.expand_dims(mask, -1)
        out = array_ops.where(mask, picked, out)
    return out


def _clip_rows(x: Tensor, ids_rank: int | None, max_norm: float) -> Tensor:
    if x.shape.rank is None or ids_rank is None:
        raise ValueError("embedding_lookup: max_norm needs ids and params of known rank")
    axes = list(range(ids_rank, x.shape.rank))
    norm = math_ops.sqrt(math_ops.reduce_sum(math_ops.square(x), axis=axes, keepdims=True))
    limit = np.array(max_norm, dtype=x.dtype.np_dtype)
    return math_ops.truediv(math_ops.multiply(x, limit), math_ops.maximum(norm, limit))
