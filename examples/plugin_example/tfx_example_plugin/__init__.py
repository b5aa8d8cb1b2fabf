"""An example third-party tensorflux plugin: an op, an optimizer and a checkpoint format.

Example:
    >>> import tensorflux as tf
    >>> from tfx_example_plugin import swish
    >>> round(float(tf.Session().run(swish(1.0))), 4)
    0.7311
"""

from .ops import swish

__all__ = ["swish"]
