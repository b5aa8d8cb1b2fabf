"""Op-info entries of the random ops: checked for shape, dtype, seeded repeatability, support and distribution.

Values are not compared: each reference draws a numpy sample of the same distribution and returns
``(sample, low, high)``, the bounds of its support. Large cases (``SAMPLE`` draws) are compared with that
sample by their mean, standard deviation and two-sample Kolmogorov-Smirnov distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import FLOATING, INDEX, OpInfo

SAMPLE = 20000
SHAPES = ([], [0], [3], [2, 3, 4])


def _uniform(shape: list, minval: float, maxval: float, seed: int, dtype: Any) -> Any:
    return tf.random_uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)


def _np_uniform(shape: list, minval: float, maxval: float, seed: int, dtype: Any) -> tuple:
    rng = np.random.default_rng(seed)
    if dtype.is_integer:
        return rng.integers(minval, maxval, size=shape), minval, maxval - 1
    return rng.uniform(minval, maxval, size=shape), minval, maxval


def _normal(shape: list, mean: float, stddev: float, seed: int, dtype: Any) -> Any:
    return tf.random_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def _np_normal(shape: list, mean: float, stddev: float, seed: int, dtype: Any) -> tuple:
    return mean + stddev * np.random.default_rng(seed).standard_normal(shape), -np.inf, np.inf


def _truncated(shape: list, mean: float, stddev: float, seed: int, dtype: Any) -> Any:
    return tf.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def _np_truncated(shape: list, mean: float, stddev: float, seed: int, dtype: Any) -> tuple:
    """A normal sample with every draw beyond two standard deviations drawn again (TF's truncation)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape)
    while np.any(np.abs(z) > 2):
        far = np.abs(z) > 2
        z[far] = rng.standard_normal(int(far.sum()))
    return mean + stddev * z, mean - 2 * stddev, mean + 2 * stddev


def _attrs(big: dict, small: dict) -> list:
    return [{"shape": s, **small, "seed": 7} for s in SHAPES] + [{"shape": [SAMPLE], **big, "seed": 3}]


RANDOM = [
    OpInfo("RandomUniform", _uniform, _np_uniform, dtypes=FLOATING, kind="random", shapes=[()], no_inputs=True,
           dtype_kwarg=True, differentiable=False,
           attrs=_attrs({"minval": -2.0, "maxval": 6.0}, {"minval": 0.0, "maxval": 1.0})),
    OpInfo("RandomUniformInt", _uniform, _np_uniform, dtypes=INDEX, kind="random", shapes=[()], no_inputs=True,
           dtype_kwarg=True, differentiable=False,
           attrs=_attrs({"minval": -3, "maxval": 4}, {"minval": 0, "maxval": 10})),
    OpInfo("RandomStandardNormal", _normal, _np_normal, dtypes=FLOATING, kind="random", shapes=[()], no_inputs=True,
           dtype_kwarg=True, differentiable=False,
           attrs=_attrs({"mean": 3.0, "stddev": 2.0}, {"mean": 0.0, "stddev": 1.0})),
    OpInfo("TruncatedNormal", _truncated, _np_truncated, dtypes=FLOATING, kind="random", shapes=[()], no_inputs=True,
           dtype_kwarg=True, differentiable=False,
           attrs=_attrs({"mean": -1.0, "stddev": 0.5}, {"mean": 0.0, "stddev": 1.0})),
]

INFOS = RANDOM
