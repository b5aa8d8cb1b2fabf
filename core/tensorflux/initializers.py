"""``tf.initializers``: TF 1.15's initializer classes and functions under their ``tf.initializers`` names.

Example:
    >>> import tensorflux as tf
    >>> tf.initializers.glorot_uniform() is not None, tf.initializers.zeros is tf.zeros_initializer
    (True, True)
"""

from ._internal.initializers import (
    Constant as constant,
    GlorotNormal as glorot_normal,
    GlorotUniform as glorot_uniform,
    Identity as identity,
    Initializer as Initializer,
    Ones as ones,
    Orthogonal as orthogonal,
    RandomNormal as random_normal,
    RandomUniform as random_uniform,
    TruncatedNormal as truncated_normal,
    UniformUnitScaling as uniform_unit_scaling,
    VarianceScaling as variance_scaling,
    Zeros as zeros,
    he_normal as he_normal,
    he_uniform as he_uniform,
    lecun_normal as lecun_normal,
    lecun_uniform as lecun_uniform,
)
from ._internal.variable_scope import tables_initializer as tables_initializer
from ._internal.variables import (
    global_variables_initializer as global_variables,
    local_variables_initializer as local_variables,
    variables_initializer as variables,
)

__all__ = [
    "Initializer", "constant", "glorot_normal", "glorot_uniform", "global_variables", "he_normal", "he_uniform",
    "identity", "lecun_normal", "lecun_uniform", "local_variables", "ones", "orthogonal", "random_normal",
    "random_uniform", "tables_initializer", "truncated_normal", "uniform_unit_scaling", "variables", "variance_scaling", "zeros",
]
