"""The ``checkpoint`` state file: which checkpoints of a folder exist, newest last (text-format CheckpointState)."""

from __future__ import annotations

import os
import warnings

from google.protobuf import text_format

from ...proto import checkpoint_state_pb2
from ..fileio import write_bytes_atomic
from .formats import detect_format

STATE_FILE = "checkpoint"


def _state_path(checkpoint_dir: str, latest_filename: str | None) -> str:
    return os.path.join(checkpoint_dir, latest_filename or STATE_FILE)


def _for_file(path: str, directory: str, relative: bool) -> str:
    if relative:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(directory or "."))
    return os.path.abspath(path)


def update_checkpoint_state(save_dir: str, model_checkpoint_path: str, all_model_checkpoint_paths: list | None = None,
                            latest_filename: str | None = None, all_model_checkpoint_timestamps: list | None = None,
                            last_preserved_timestamp: float | None = None, save_relative_paths: bool = False) -> None:
    """Atomically rewrite ``save_dir/checkpoint`` to name ``model_checkpoint_path`` as the latest checkpoint.

    Paths are written absolute, or relative to ``save_dir`` with ``save_relative_paths=True``.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> d = tempfile.mkdtemp()
        >>> tf.train.update_checkpoint_state(d, os.path.join(d, "model-1"), save_relative_paths=True)
        >>> tf.train.get_checkpoint_state(d).model_checkpoint_path == os.path.join(d, "model-1")
        True
    """
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths = [p for p in paths if p != model_checkpoint_path] + [model_checkpoint_path]
    state = checkpoint_state_pb2.CheckpointState(
        model_checkpoint_path=_for_file(model_checkpoint_path, save_dir, save_relative_paths),
        all_model_checkpoint_paths=[_for_file(p, save_dir, save_relative_paths) for p in paths],
    )
    if all_model_checkpoint_timestamps:
        state.all_model_checkpoint_timestamps.extend(all_model_checkpoint_timestamps)
    if last_preserved_timestamp is not None:
        state.last_preserved_timestamp = last_preserved_timestamp
    os.makedirs(save_dir or ".", exist_ok=True)
    write_bytes_atomic(_state_path(save_dir, latest_filename), text_format.MessageToString(state).encode("utf-8"))


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> checkpoint_state_pb2.CheckpointState | None:
    """The CheckpointState in ``checkpoint_dir/checkpoint``, with relative paths made absolute; None if absent.

    An unparsable state file gives a warning naming it, and None.

    Example:
        >>> import tempfile, tensorflux as tf
        >>> tf.train.get_checkpoint_state(tempfile.mkdtemp()) is None
        True
    """
    path = _state_path(checkpoint_dir, latest_filename)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # ValueError: bad UTF-8, or a NUL byte in the path
        warnings.warn(f"checkpoint state file '{path}' cannot be read: {exc}", stacklevel=2)
        return None
    state = checkpoint_state_pb2.CheckpointState()
    try:
        text_format.Parse(text, state)
    except Exception as exc:  # noqa: BLE001 - ParseError, or whatever else crafted text provokes: same verdict
        warnings.warn(f"checkpoint state file '{path}' is not a valid CheckpointState: {exc}", stacklevel=2)
        return None
    if not state.model_checkpoint_path:
        warnings.warn(f"checkpoint state file '{path}' names no model_checkpoint_path", stacklevel=2)
        return None

    def absolute(p: str) -> str:
        return p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)

    state.model_checkpoint_path = absolute(state.model_checkpoint_path)
    paths = [absolute(p) for p in state.all_model_checkpoint_paths]
    del state.all_model_checkpoint_paths[:]
    state.all_model_checkpoint_paths.extend(paths)
    return state


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The prefix of the newest checkpoint in ``checkpoint_dir`` whose files exist, else None.

    Example:
        >>> import tempfile, tensorflux as tf
        >>> tf.train.latest_checkpoint(tempfile.mkdtemp()) is None
        True
    """
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None:
        return None
    if checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    warnings.warn(f"checkpoint state file in '{checkpoint_dir}' names '{state.model_checkpoint_path}', whose files "
                  "do not exist", stacklevel=2)
    return None


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether some registered checkpoint format recognizes files at ``checkpoint_prefix``.

    Example:
        >>> import tensorflux as tf
        >>> tf.train.checkpoint_exists("/nonexistent/model-1")
        False
    """
    return detect_format(checkpoint_prefix) is not None
