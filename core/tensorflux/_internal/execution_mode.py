"""TF 1.x's switches between graph and eager execution. Tensorflux only builds graphs, so turning eager
execution or the v2 behaviour off is a no-op, and turning them on is refused."""

from __future__ import annotations

from typing import Any


def executing_eagerly() -> bool:
    """Always False: ops build a graph and run in a Session.

    Example:
        >>> import tensorflux as tf
        >>> tf.executing_eagerly()
        False
    """
    return False


def disable_eager_execution() -> None:
    """No-op: graph mode is already the only mode. Example: ``tf.compat.v1.disable_eager_execution()``."""


def disable_v2_behavior() -> None:
    """No-op: Tensorflux behaves as TF 1.x throughout. Example: ``tf.disable_v2_behavior()``."""


def enable_eager_execution(config: Any = None, device_policy: Any = None, execution_mode: Any = None) -> None:
    """Refused: Tensorflux has no eager mode.

    Example:
        >>> import tensorflux as tf
        >>> tf.enable_eager_execution()
        Traceback (most recent call last):
        ...
        ValueError: enable_eager_execution: Tensorflux only runs graphs (build ops, then Session.run)
    """
    raise ValueError("enable_eager_execution: Tensorflux only runs graphs (build ops, then Session.run)")


def enable_v2_behavior() -> None:
    """Refused: Tensorflux implements the TF 1.x API only. Example: see :func:`enable_eager_execution`."""
    raise ValueError("enable_v2_behavior: Tensorflux implements the TF 1.x graph API only")
