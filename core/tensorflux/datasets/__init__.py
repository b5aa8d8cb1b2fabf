"""``tf.datasets``: small standard data sets for tutorials, tests and benchmarks.

Example:
    >>> import tensorflux as tf
    >>> callable(tf.datasets.mnist.read_data_sets)
    True
"""

from . import mnist as mnist
