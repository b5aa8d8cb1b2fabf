"""Random ops. Each run draws new values; graph and op seeds make whole programs reproducible."""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..graph import Tensor, get_default_graph
from ..op_builder import apply_op, constant_shape
from .common import define

DEFAULT_GRAPH_SEED = 87654321
MAXINT32 = 2**31 - 1
IDX = (dt.int32, dt.int64)


def _from_shape_input(op: Any) -> Any:
    return constant_shape(op.inputs[0])


for _name in ("RandomUniform", "RandomStandardNormal", "TruncatedNormal"):
    define(_name, ["shape: T"], ["output: dtype"],
           {"T": ("type", "int32", IDX), "dtype": ("type", None, dt.FLOATING), "seed": ("int", 0), "seed2": ("int", 0)},
           shape=_from_shape_input, stateful=True, differentiable=False)
define("RandomUniformInt", ["shape: T", "minval: Tout", "maxval: Tout"], ["output: Tout"],
       {"T": ("type", "int32", IDX), "Tout": ("type", None, IDX), "seed": ("int", 0), "seed2": ("int", 0)},
       shape=_from_shape_input, stateful=True, differentiable=False)


def set_random_seed(seed: int | None) -> None:
    """Set the default graph's seed; with it, every random op without its own seed becomes reproducible.

    Example:
        >>> import tensorflux as tf
        >>> tf.set_random_seed(42)
    """
    get_default_graph().seed = seed


def get_seed(op_seed: int | None) -> tuple[int, int]:
    """TF 1.x's seed rule: the (seed, seed2) attrs a random op gets from the graph seed and its own seed.

    With a graph seed, an op without its own seed takes the graph's last op id, so rebuilding the same
    graph repeats every stream. With neither seed the result is (0, 0), which kernels read as
    "nondeterministic"; a seeded pair that happens to be (0, 0), such as graph seed 0 on a fresh graph,
    becomes (0, 2**31 - 1) instead, so that ``tf.set_random_seed(0)`` is as reproducible as any other seed.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.ops.random_ops import get_seed
        >>> tf.reset_default_graph()
        >>> tf.set_random_seed(0)
        >>> get_seed(0)
        (0, 2147483647)
    """
    graph = get_default_graph()
    if graph.seed is not None:
        seeds = _truncate_seed(graph.seed), _truncate_seed(op_seed if op_seed is not None else graph._id_counter)
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, _truncate_seed(op_seed)
    else:
        return 0, 0
    if seeds == (0, 0):
        return 0, MAXINT32
    return seeds


def _truncate_seed(seed: int) -> int:
    # TF keeps seeds in int32 range this way, which also turns negative seeds (that numpy rejects) positive.
    return int(seed) % MAXINT32


def _random(op_type: str, shape: Any, dtype: Any, seed: int | None, name: str | None) -> Tensor:
    s1, s2 = get_seed(seed)
    return apply_op(op_type, shape, dtype=dt.as_dtype(dtype), seed=s1, seed2=s2, name=name or op_type)[0]


def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = dt.float32, seed: int | None = None,
                   name: str | None = None) -> Tensor:
    """Uniform values in [minval, maxval); maxval defaults to 1 for floats and is required for ints.

    Example:
        >>> import tensorflux as tf
        >>> tf.random_uniform([2, 3], -1.0, 1.0, seed=1).shape
        TensorShape([2, 3])
    """
    from .math_ops import add, multiply

    dtype = dt.as_dtype(dtype)
    if dtype.is_integer:
        if maxval is None:
            raise ValueError("random_uniform needs maxval for integer dtype " + dtype.name)
        s1, s2 = get_seed(seed)
        return apply_op("RandomUniformInt", shape, minval, maxval, Tout=dtype, seed=s1, seed2=s2,
                        name=name or "random_uniform")[0]
    maxval = 1 if maxval is None else maxval
    rnd = _random("RandomUniform", shape, dtype, seed, name)
    if isinstance(minval, Tensor) or isinstance(maxval, Tensor) or (minval, maxval) != (0, 1):
        from .math_ops import subtract

        return add(multiply(rnd, subtract(maxval, minval) if isinstance(maxval, Tensor) or isinstance(minval, Tensor)
                            else maxval - minval), minval)
    return rnd


def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dt.float32, seed: int | None = None,
                  name: str | None = None) -> Tensor:
    """Normally distributed values.

    Example:
        >>> import tensorflux as tf
        >>> tf.random_normal([4], stddev=0.1, seed=1).shape
        TensorShape([4])
    """
    from .math_ops import add, multiply

    rnd = _random("RandomStandardNormal", shape, dtype, seed, name)
    return rnd if (mean, stddev) == (0.0, 1.0) else add(multiply(rnd, stddev), mean)


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dt.float32, seed: int | None = None,
                     name: str | None = None) -> Tensor:
    """Normal values redrawn when further than two standard deviations from the mean.

    Example:
        >>> import tensorflux as tf
        >>> tf.truncated_normal([784, 10], stddev=0.1).shape
        TensorShape([784, 10])
    """
    from .math_ops import add, multiply

    rnd = _random("TruncatedNormal", shape, dtype, seed, name)
    return rnd if (mean, stddev) == (0.0, 1.0) else add(multiply(rnd, stddev), mean)
