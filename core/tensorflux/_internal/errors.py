"""Error classes, named after TensorFlow's so that TF-1.x code catches the same types."""

from __future__ import annotations

from typing import Any


class OpError(Exception):
    """An error raised while running (or planning) an op; ``op`` is the Operation, when known.

    Example:
        >>> import tensorflux as tf
        >>> issubclass(tf.errors.InvalidArgumentError, tf.errors.OpError)
        True
    """

    def __init__(self, message: str, op: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.op = op


class InvalidArgumentError(OpError, ValueError):
    """An argument (a feed, an attribute, an input value) is not what the op accepts."""


class FailedPreconditionError(OpError):
    """The system is not in a state to run the op, e.g. a variable was not initialized."""


class NotFoundError(OpError, KeyError):
    """A named entity (a kernel, a device, a file) does not exist."""

    def __str__(self) -> str:
        return self.message


class DataLossError(OpError):
    """Stored data is corrupt or truncated, e.g. a checkpoint whose checksum does not match."""


class OutOfRangeError(OpError):
    """An iteration ran past its end, e.g. an iterator's ``get_next()`` after the last element of its dataset."""


class UnimplementedError(OpError):
    """The operation is not implemented for this device or dtype."""


class ResourceExhaustedError(OpError):
    """A device ran out of memory or another resource."""


class UnavailableError(OpError):
    """A device could not run an op's kernel (its driver cannot build it); later plans place the op elsewhere."""


class KernelUnavailable(RuntimeError):
    """Raised by a kernel whose device cannot run it now, such as a program its driver fails to build.

    The executor reports it as :class:`UnavailableError` naming the op, and marks the op unavailable on that
    device, so that the session's next run places it on another device (with a ``PlacementWarning``).

    Example:
        >>> from tensorflux.extend import KernelUnavailable
        >>> issubclass(KernelUnavailable, RuntimeError)
        True
    """


class InternalError(OpError):
    """A kernel failed in a way that is a bug in the kernel or plugin."""


class PluginError(RuntimeError):
    """A plugin could not be loaded or registered; the message names the plugin."""
