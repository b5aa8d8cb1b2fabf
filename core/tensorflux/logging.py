"""``tf.logging``: TF 1.x's logging functions and levels, on the standard library's ``logging`` module.

Example:
    >>> import tensorflux as tf
    >>> tf.logging.set_verbosity(tf.logging.INFO)
    >>> tf.logging.info("step %d", 1)
"""

from ._internal.tf_logging import (
    DEBUG as DEBUG,
    ERROR as ERROR,
    FATAL as FATAL,
    INFO as INFO,
    WARN as WARN,
    debug as debug,
    error as error,
    fatal as fatal,
    flush as flush,
    get_logger as get_logger,
    get_verbosity as get_verbosity,
    info as info,
    log as log,
    log_every_n as log_every_n,
    log_first_n as log_first_n,
    log_if as log_if,
    set_verbosity as set_verbosity,
    vlog as vlog,
    warn as warn,
    warning as warning,
)
