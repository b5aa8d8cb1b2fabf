"""Inspecting a checkpoint without a graph: ``tf.train.NewCheckpointReader``, ``list_variables``, ``load_variable``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import DataLossError, NotFoundError
from ..untrusted import parsing
from .formats import require_format
from .state import latest_checkpoint


class CheckpointReader:
    """Reads the tensors of one checkpoint, whatever its format.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> v = tf.Variable([1.0, 2.0], name="v")
        >>> with tf.Session() as sess:
        ...     sess.run(v.initializer)
        ...     prefix = tf.train.Saver([v]).save(sess, os.path.join(tempfile.mkdtemp(), "model"))
        >>> reader = tf.train.NewCheckpointReader(prefix)
        >>> reader.get_variable_to_shape_map(), reader.get_tensor("v")
        ({'v': [2]}, array([1., 2.], dtype=float32))
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.format_name, self._format = require_format(prefix)
        self._values: dict[str, np.ndarray] | None = None
        self._meta: dict[str, tuple] | None = None

    def _all(self) -> dict[str, np.ndarray]:
        if self._values is None:
            # A plugin format may let any exception out; the reader still raises only the library's errors.
            with parsing(f"checkpoint '{self.prefix}' ({self.format_name} format)", invalid=DataLossError):
                self._values = dict(self._format.read(self.prefix))
        return self._values

    def _variables(self) -> dict[str, tuple]:
        if self._meta is None:
            describe = getattr(self._format, "variables", None)
            if callable(describe):
                with parsing(f"checkpoint '{self.prefix}' ({self.format_name} format)", invalid=DataLossError):
                    self._meta = dict(describe(self.prefix))
            else:
                from .. import dtypes as _dtypes

                self._meta = {n: (_dtypes.as_dtype(a.dtype) if a.dtype.kind not in "OSU" else _dtypes.string,
                                  list(a.shape)) for n, a in self._all().items()}
        return self._meta

    def has_tensor(self, name: str) -> bool:
        """Whether the checkpoint holds a tensor called ``name``."""
        return name in self._variables()

    def get_tensor(self, name: str) -> np.ndarray:
        """The value of tensor ``name``; NotFoundError names the checkpoint and lists what it holds."""
        values = self._all()
        if name not in values:
            known = ", ".join(sorted(values)) or "nothing"
            raise NotFoundError(f"Key {name} not found in checkpoint '{self.prefix}'; it holds: {known}")
        return values[name].copy()

    def get_variable_to_shape_map(self) -> dict[str, list]:
        """``{name: shape as a list}`` for every tensor in the checkpoint."""
        return {n: list(shape) for n, (_, shape) in self._variables().items()}

    def get_variable_to_dtype_map(self) -> dict[str, Any]:
        """``{name: DType}`` for every tensor in the checkpoint."""
        return {n: dt for n, (dt, _) in self._variables().items()}

    def debug_string(self) -> bytes:
        """One line per tensor: ``name (dtype) [shape]``."""
        lines = [f"{n} ({dt.name}) {shape}" for n, (dt, shape) in sorted(self._variables().items())]
        return ("\n".join(lines) + "\n").encode("utf-8")


def NewCheckpointReader(filepattern: str) -> CheckpointReader:  # noqa: N802 - TensorFlow's name
    """A :class:`CheckpointReader` for the checkpoint prefix ``filepattern``.

    Example:
        >>> import tensorflux as tf
        >>> callable(tf.train.NewCheckpointReader)
        True
    """
    return CheckpointReader(filepattern)


def load_checkpoint(ckpt_dir_or_file: str) -> CheckpointReader:
    """A reader for a checkpoint prefix, or for the latest checkpoint of a folder.

    Example:
        >>> import tempfile, tensorflux as tf
        >>> try:
        ...     tf.train.load_checkpoint(tempfile.mkdtemp())
        ... except ValueError as e:
        ...     print("no checkpoint")
        no checkpoint
    """
    prefix = ckpt_dir_or_file
    if os.path.isdir(ckpt_dir_or_file):
        prefix = latest_checkpoint(ckpt_dir_or_file)
        if prefix is None:
            raise ValueError(f"Couldn't find a 'checkpoint' state file (or the checkpoint it names) in folder "
                             f"'{ckpt_dir_or_file}'")
    return CheckpointReader(prefix)


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list]]:
    """Sorted ``(name, shape)`` pairs of a checkpoint prefix or of a folder's latest checkpoint.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> v = tf.Variable(tf.zeros([2, 3]), name="w")
        >>> d = tempfile.mkdtemp()
        >>> with tf.Session() as sess:
        ...     sess.run(v.initializer)
        ...     _ = tf.train.Saver([v]).save(sess, os.path.join(d, "model"), global_step=7)
        >>> tf.train.list_variables(d)
        [('w', [2, 3])]
    """
    reader = load_checkpoint(ckpt_dir_or_file)
    return sorted(reader.get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file: str, name: str) -> np.ndarray:
    """The value of variable ``name`` (a trailing ``:0`` is ignored) in a checkpoint prefix or folder.

    Example:
        >>> import tensorflux as tf
        >>> callable(tf.train.load_variable)
        True
    """
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)
