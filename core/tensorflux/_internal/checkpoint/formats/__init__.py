"""The checkpoint-format contract, and looking formats up in the plugin registry.

A format is any object with four methods; core registers ``tf_bundle`` (TensorFlow's V2 checkpoints, the
default), ``native`` and ``npz`` from its built-in plugin, and third-party packages register more through
``tensorflux_register_checkpoint_formats``.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np

from ...errors import DataLossError, NotFoundError
from ...registry import CHECKPOINT_FORMATS

REQUIRED_METHODS = ("write", "read", "detect", "files")
DEFAULT_FORMAT = "tf_bundle"


class CheckpointFormat:
    """Base class (optional: any object with these methods works) for a checkpoint file format.

    - ``write(prefix, tensors)``: store ``{name: ndarray}`` under the path prefix ``prefix``,
      atomically (see ``tensorflux.extend.atomic_write``), replacing what was there.
    - ``read(prefix) -> {name: ndarray}``: load everything, verifying checksums; raise
      ``tf.errors.DataLossError`` naming the file (and tensor) on corruption.
    - ``detect(prefix) -> bool``: whether files of this format exist for ``prefix``; cheap.
    - ``files(prefix) -> [path]``: every file of the checkpoint, for deletion.
    - optionally ``variables(prefix) -> {name: (DType, shape)}`` without reading the data.

    Loading must never execute code from the file: no pickle, no eval.

    Example (a plugin)::

        from tensorflux.extend import CheckpointFormat, hookimpl

        class Raw(CheckpointFormat):
            ...

        @hookimpl
        def tensorflux_register_checkpoint_formats(registrar):
            registrar.checkpoint_format("raw", Raw())
    """

    def write(self, prefix: str, tensors: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def read(self, prefix: str) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def detect(self, prefix: str) -> bool:
        raise NotImplementedError

    def files(self, prefix: str) -> list[str]:
        raise NotImplementedError


def check_format_object(name: str, fmt: Any, plugin: str) -> None:
    """Raise TypeError naming the plugin and the missing methods if ``fmt`` is not a usable format."""
    missing = [m for m in REQUIRED_METHODS if not callable(getattr(fmt, m, None))]
    if missing:
        raise TypeError(
            f"plugin '{plugin}' registers checkpoint format '{name}' as a {type(fmt).__name__}, which lacks the "
            f"method(s) {', '.join(missing)}; a format needs write(prefix, tensors), read(prefix), detect(prefix) "
            "and files(prefix)"
        )


CHECKPOINT_FORMATS.validate = check_format_object


def get_format(name: str) -> Any:
    """The registered format called ``name``; NotFoundError lists the known ones."""
    try:
        return CHECKPOINT_FORMATS.get(name)
    except KeyError as exc:
        raise NotFoundError(str(exc.args[0])) from None


def list_checkpoint_formats() -> list[str]:
    """Names of every registered checkpoint format, sorted.

    Example:
        >>> import tensorflux as tf
        >>> tf.train.list_checkpoint_formats()[:2]
        ['native', 'npz']
    """
    return CHECKPOINT_FORMATS.names()


def detect_format(prefix: str) -> tuple[str, Any] | None:
    """``(name, format)`` of the first format (the default first, then by name) that recognizes ``prefix``."""
    names = list_checkpoint_formats()
    ordered = [n for n in names if n == DEFAULT_FORMAT] + [n for n in names if n != DEFAULT_FORMAT]
    for name in ordered:
        fmt = CHECKPOINT_FORMATS.get(name)
        try:
            found = fmt.detect(prefix)
        except Exception as exc:  # noqa: BLE001 - a plugin's detect() sees hostile files too
            raise DataLossError(f"checkpoint format '{name}' failed to inspect '{prefix}': "
                                f"{type(exc).__name__}: {exc}") from exc
        if found:
            return name, fmt
    return None


def require_format(prefix: str) -> tuple[str, Any]:
    """Like :func:`detect_format`, but raise NotFoundError naming the prefix, the files seen and the formats tried."""
    found = detect_format(prefix)
    if found is not None:
        return found
    seen = sorted(os.path.basename(p) for p in glob.glob(glob.escape(prefix) + "*"))
    hint = f"; files with that prefix: {', '.join(seen)}" if seen else "; no file starts with that prefix"
    if any(".data-" in s and "-of-" in s for s in seen):
        hint += (" (this looks like a TensorFlow checkpoint, but its .index file is missing or is not a tensor-bundle "
                 "index: the file is truncated or corrupt)")
    raise NotFoundError(
        f"No checkpoint found at '{prefix}': none of the formats {', '.join(list_checkpoint_formats())} "
        f"recognizes it{hint}"
    )
