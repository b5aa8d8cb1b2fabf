"""Variable initializers (``tf.zeros_initializer`` ... ``tf.orthogonal_initializer``), TF 1.15's classes.

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and returns a tensor built from
core ops, so it runs on every device. Seeds follow ``tf.set_random_seed``'s rules; the random streams differ
from TF's, the distributions do not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes as _dtypes
from .graph import Tensor
from .ops import array_ops, math_ops, random_ops

# The standard deviation of a unit normal truncated to [-2, 2]: dividing by it gives the truncated draw the
# variance that variance scaling asks for.
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def _float_dtype(dtype: Any, who: str) -> _dtypes.DType:
    dtype = _dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"{who}: expected a floating point dtype, got {dtype.name}")
    return dtype


class Initializer:
    """Base class: a callable ``(shape, dtype=None, partition_info=None) -> Tensor`` with a ``get_config``.

    Example:
        >>> import tensorflux as tf
        >>> isinstance(tf.zeros_initializer(), tf.initializers.Initializer)
        True
    """

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)


class Zeros(Initializer):
    """Zeros. Example: ``tf.get_variable("b", [10], initializer=tf.zeros_initializer())``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.zeros_initializer()([2]))
        array([0., 0.], dtype=float32)
    """

    def __init__(self, dtype: Any = _dtypes.float32) -> None:
        self.dtype = _dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return array_ops.zeros(shape, _dtypes.as_dtype(dtype or self.dtype))

    def get_config(self) -> dict:
        return {"dtype": self.dtype.name}


class Ones(Zeros):
    """Ones.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.ones_initializer()([2], tf.int32))
        array([1, 1], dtype=int32)
    """

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return array_ops.ones(shape, _dtypes.as_dtype(dtype or self.dtype))


class Constant(Initializer):
    """A constant ``value``: a scalar fills the shape, a list must have the shape's element count.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.constant_initializer(0.5)([2]))
        array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, value: Any = 0, dtype: Any = _dtypes.float32, verify_shape: bool = False) -> None:
        self.value = value
        self.dtype = _dtypes.as_dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None, verify_shape: Any = None) -> Tensor:
        del verify_shape  # TF 1.15 checks the element count whatever this says
        return array_ops.constant(self.value, dtype=_dtypes.as_dtype(dtype or self.dtype), shape=shape)

    def get_config(self) -> dict:
        return {"value": self.value, "dtype": self.dtype.name}


class RandomUniform(Initializer):
    """Uniform in ``[minval, maxval)``.

    Example:
        >>> import tensorflux as tf
        >>> tf.random_uniform_initializer(-1.0, 1.0, seed=1)([3, 2]).shape
        TensorShape([3, 2])
    """

    def __init__(self, minval: Any = 0, maxval: Any = None, seed: int | None = None,
                 dtype: Any = _dtypes.float32) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self.dtype = _dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return random_ops.random_uniform(shape, self.minval, self.maxval, _dtypes.as_dtype(dtype or self.dtype),
                                         seed=self.seed)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype.name}


class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev``.

    Example:
        >>> import tensorflux as tf
        >>> tf.random_normal_initializer(stddev=0.1)([4]).dtype
        tf.float32
    """

    _sample = staticmethod(random_ops.random_normal)

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None,
                 dtype: Any = _dtypes.float32) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = _float_dtype(dtype, type(self).__name__)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float_dtype(dtype or self.dtype, type(self).__name__)
        return self._sample(shape, self.mean, self.stddev, dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class TruncatedNormal(RandomNormal):
    """Normal with ``mean`` and ``stddev``, redrawn beyond two standard deviations.

    Example:
        >>> import tensorflux as tf
        >>> tf.truncated_normal_initializer(stddev=0.1)([4]).op.type
        'AddV2'
    """

    _sample = staticmethod(random_ops.truncated_normal)


_VARIANCE_SCALING_MODES = ("fan_in", "fan_out", "fan_avg")
_VARIANCE_SCALING_DISTRIBUTIONS = ("normal", "uniform", "truncated_normal", "untruncated_normal")


def compute_fans(shape: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape; conv kernels ``[h, w, in, out]`` count the receptive field.

    Example:
        >>> compute_fans([3, 3, 16, 32])
        (144, 288)
    """
    shape = list(shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(int(d) for d in shape[:-2])
    return int(shape[-2]) * receptive_field, int(shape[-1]) * receptive_field


class VarianceScaling(Initializer):
    """Values whose variance is ``scale / n``, n being fan_in, fan_out or their mean (He, LeCun, Glorot).

    ``distribution`` is "truncated_normal" (alias "normal": stddev divided by 0.8796 so the truncated draw
    keeps the variance), "untruncated_normal" or "uniform" (limit ``sqrt(3 * scale / n)``).

    Example:
        >>> import tensorflux as tf
        >>> init = tf.variance_scaling_initializer(2.0, mode="fan_in", distribution="uniform")
        >>> init([16, 8]).shape
        TensorShape([16, 8])
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, dtype: Any = _dtypes.float32) -> None:
        if scale <= 0.0:
            raise ValueError(f"variance_scaling_initializer: `scale` must be a positive float, got {scale}")
        if mode not in _VARIANCE_SCALING_MODES:
            raise ValueError(f"variance_scaling_initializer: invalid `mode` {mode!r}; expected one of "
                             f"{_VARIANCE_SCALING_MODES}")
        distribution = distribution.lower()
        if distribution not in _VARIANCE_SCALING_DISTRIBUTIONS:
            raise ValueError(f"variance_scaling_initializer: invalid `distribution` {distribution!r}; expected one "
                             f"of {_VARIANCE_SCALING_DISTRIBUTIONS}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = _float_dtype(dtype, "variance_scaling_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float_dtype(dtype or self.dtype, "variance_scaling_initializer")
        full_shape = getattr(partition_info, "full_shape", None) or shape
        fan_in, fan_out = compute_fans(full_shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution in ("normal", "truncated_normal"):
            return random_ops.truncated_normal(shape, 0.0, math.sqrt(scale) / TRUNCATED_NORMAL_STDDEV, dtype,
                                               seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "dtype": self.dtype.name}


class GlorotUniform(VarianceScaling):
    """Glorot/Xavier uniform: limit ``sqrt(6 / (fan_in + fan_out))``; ``get_variable``'s default.

    Example:
        >>> import tensorflux as tf
        >>> tf.glorot_uniform_initializer(seed=1)([4, 4]).shape
        TensorShape([4, 4])
    """

    def __init__(self, seed: int | None = None, dtype: Any = _dtypes.float32) -> None:
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)

    def get_config(self) -> dict:
        return {"seed": self.seed, "dtype": self.dtype.name}


class GlorotNormal(GlorotUniform):
    """Glorot/Xavier truncated normal: stddev ``sqrt(2 / (fan_in + fan_out)) / 0.8796``.

    Example:
        >>> import tensorflux as tf
        >>> tf.glorot_normal_initializer(seed=1)([4, 4]).shape
        TensorShape([4, 4])
    """

    def __init__(self, seed: int | None = None, dtype: Any = _dtypes.float32) -> None:
        VarianceScaling.__init__(self, 1.0, "fan_avg", "truncated_normal", seed, dtype)




def _orthogonalize_steps(n: int) -> int:
    # Newton-Schulz grows a small singular value 1.5x per step, then converges quadratically. After Frobenius
    # scaling an n x n Gaussian's smallest singular value is about n**-1.5; the 1e5 margin covers all but about
    # one draw in 1e5 of an unusually ill-conditioned matrix, and the last steps polish to float precision.
    return math.ceil(math.log(n ** 1.5 * 1e5, 1.5)) + 8


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``; shapes past rank 2 are flattened to ``[prod(shape[:-1]), n]``.

    TF takes the Q of a QR decomposition; here it is the polar factor of the same Gaussian matrix, found by
    Newton-Schulz iteration from core ops. Both are uniformly (Haar) distributed over orthogonal matrices.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> q = tf.Session().run(tf.orthogonal_initializer(seed=1)([3, 3]))
        >>> bool(np.allclose(q.T @ q, np.eye(3), atol=1e-4))
        True
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None, dtype: Any = _dtypes.float32) -> None:
        self.gain, self.seed = gain, seed
        self.dtype = _float_dtype(dtype, "orthogonal_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float_dtype(dtype or self.dtype, "orthogonal_initializer")
        shape = [int(d) for d in shape]
        if len(shape) < 2:
            raise ValueError(f"orthogonal_initializer: the tensor to initialize must be at least two-dimensional, "
                             f"got shape {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        tall = random_ops.random_normal([max(rows, cols), min(rows, cols)], dtype=dtype, seed=self.seed)
        # Frobenius scaling puts every singular value in (0, 1], inside Newton-Schulz's basin of convergence.
        q = math_ops.multiply(tall, math_ops.rsqrt(math_ops.reduce_sum(math_ops.square(tall))))
        for _ in range(_orthogonalize_steps(min(rows, cols))):
            gram = math_ops.matmul(q, q, transpose_a=True)
            q = math_ops.subtract(math_ops.multiply(q, 1.5), math_ops.multiply(math_ops.matmul(q, gram), 0.5))
        if rows < cols:
            q = array_ops.transpose(q)
        return math_ops.multiply(array_ops.reshape(q, shape), self.gain)

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed, "dtype": self.dtype.name}


class Identity(Initializer):
    """``gain`` times the identity matrix; only for 2-D shapes (a non-square one gets ``eye(rows, cols)``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.initializers.identity(gain=2.0)([2, 3]))
        array([[2., 0., 0.],
               [0., 2., 0.]], dtype=float32)
    """

    def __init__(self, gain: float = 1.0, dtype: Any = _dtypes.float32) -> None:
        self.gain = gain
        self.dtype = _float_dtype(dtype, "initializers.identity")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        full_shape = list(getattr(partition_info, "full_shape", None) or shape)
        if len(full_shape) != 2:
            raise ValueError(f"initializers.identity: the identity matrix initializer can only be used for 2D "
                             f"matrices, got shape {list(shape)}")
        dtype = _float_dtype(dtype or self.dtype, "initializers.identity")
        eye = np.eye(int(full_shape[0]), int(full_shape[1])) * self.gain
        offset = getattr(partition_info, "var_offset", None)
        if offset is not None:
            rows, cols = (int(d) for d in shape)
            eye = eye[offset[0]:offset[0] + rows, offset[1]:offset[1] + cols]
        return array_ops.constant(eye.astype(dtype.np_dtype), dtype=dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain, "dtype": self.dtype.name}


class UniformUnitScaling(Initializer):
    """Uniform in ``[-m, m]`` with ``m = factor * sqrt(3 / input_size)``, ``input_size`` the product of every
    dimension but the last (TF 1.x's deprecated ``uniform_unit_scaling_initializer``).

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> w = tf.Session().run(tf.uniform_unit_scaling_initializer(factor=1.0, seed=1)([12, 5]))
        >>> bool(np.abs(w).max() <= 0.5)
        True
    """

    def __init__(self, factor: float = 1.0, seed: int | None = None, dtype: Any = _dtypes.float32) -> None:
        self.factor, self.seed = factor, seed
        self.dtype = _float_dtype(dtype, "uniform_unit_scaling_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float_dtype(dtype or self.dtype, "uniform_unit_scaling_initializer")
        scale_shape = getattr(partition_info, "full_shape", None) or shape
        # The product of all dimensions but the last is the input size of a matmul and of a convolution alike.
        input_size = max(float(math.prod(float(d) for d in list(scale_shape)[:-1])), 1.0)
        limit = math.sqrt(3.0 / input_size) * self.factor
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {"factor": self.factor, "seed": self.seed, "dtype": self.dtype.name}


# TF 1.15's lower-case spellings (``tf.zeros_initializer()`` builds an instance).
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_uniform_initializer = RandomUniform
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
orthogonal_initializer = Orthogonal
uniform_unit_scaling_initializer = UniformUnitScaling


def he_normal(seed: int | None = None) -> VarianceScaling:
    """He normal: truncated normal with variance ``2 / fan_in``.

    Example:
        >>> import tensorflux as tf
        >>> tf.initializers.he_normal().get_config()["scale"]
        2.0
    """
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed: int | None = None) -> VarianceScaling:
    """He uniform: limit ``sqrt(6 / fan_in)``. Example: ``tf.initializers.he_uniform(seed=1)``."""
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed: int | None = None) -> VarianceScaling:
    """LeCun normal: truncated normal with variance ``1 / fan_in``. Example: ``tf.initializers.lecun_normal()``."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed: int | None = None) -> VarianceScaling:
    """LeCun uniform: limit ``sqrt(3 / fan_in)``. Example: ``tf.initializers.lecun_uniform()``."""
    return VarianceScaling(1.0, "fan_in", "uniform", seed)
