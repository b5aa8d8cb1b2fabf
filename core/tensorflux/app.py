"""``tf.app``: ``tf.app.run(main, argv)`` and ``tf.app.flags``.

Example:
    >>> import tensorflux as tf
    >>> tf.app.flags.FLAGS is tf.flags.FLAGS
    True
"""

from . import flags as flags
from ._internal.app_flags import run as run
