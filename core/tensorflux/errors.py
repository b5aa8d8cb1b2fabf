"""Error types raised by tensorflux, named as in TensorFlow (``tf.errors.InvalidArgumentError``...)."""

from ._internal.errors import (  # noqa: F401
    DataLossError as DataLossError,
    FailedPreconditionError as FailedPreconditionError,
    InternalError as InternalError,
    InvalidArgumentError as InvalidArgumentError,
    NotFoundError as NotFoundError,
    OpError as OpError,
    OutOfRangeError as OutOfRangeError,
    PluginError as PluginError,
    ResourceExhaustedError as ResourceExhaustedError,
    UnavailableError as UnavailableError,
    UnimplementedError as UnimplementedError,
)
