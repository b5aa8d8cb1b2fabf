"""Testing helpers (``tf.test``): the gradient checker, comparing symbolic with numeric gradients.

Example:
    >>> import tensorflux as tf
    >>> x = tf.placeholder(tf.float64, [4])
    >>> tf.test.compute_gradient_error(x, [4], tf.square(x), [4], delta=1e-6) < 1e-6
    True
"""

from ._internal.gradient_checker import (
    compute_gradient as compute_gradient,
    compute_gradient_error as compute_gradient_error,
)
