"""``tf.train.Saver``: save variables to checkpoints and restore them, through the session, in any registered format.

A save writes, each file atomically and in this order: the checkpoint's own files (the format's
commit point last), ``<prefix>.meta``, then the ``checkpoint`` state file. Killing the process at
any moment therefore leaves the previous checkpoint, and a state file naming it, loadable.

Concurrent saves (threads, or processes on one host) take turns: the checkpoint's files and its
meta graph are written holding ``path_lock(prefix)``, and the state-file update with the
``max_to_keep`` deletions holding ``path_lock(<state file>)``. A saver deletes an old checkpoint
only if its files are still the ones it wrote itself: one saved over since, by another saver or
process, is someone else's and is kept.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
import os
import threading
import time
import warnings
from typing import Any

import numpy as np

from ...proto import saver_pb2
from .. import dtypes as _dtypes
from ..errors import InvalidArgumentError, NotFoundError
from ..fileio import path_lock, remove_stale_temps_in
from ..graph import Tensor
from ..serialization import meta_graph as _meta_graph
from ..variables import Variable, global_variables
from .formats import DEFAULT_FORMAT, detect_format, get_format, require_format
from .saver_graph import build_saver_def, names_resolve
from .state import STATE_FILE, update_checkpoint_state

_LOG = logging.getLogger("tensorflux")


class Saver:
    """Saves and restores variables.

    ``var_list`` is a list of variables (saved under their op names) or a dict ``{name: variable}``;
    by default every global variable of the default graph. ``format`` names a registered checkpoint
    format (``tf.train.list_checkpoint_formats()``); ``restore`` detects the format from the files.
    At most ``max_to_keep`` recent checkpoints are kept; 0 or None keeps every one (and, as in TF,
    ``last_checkpoints`` then stays empty and the state file lists only the newest). Negative values,
    which make TF's Saver delete each checkpoint right after writing it, raise ValueError.

    The constructor adds TensorFlow's save/restore ops for the variables to their graph (``save/SaveV2``,
    ``save/RestoreV2``, ``save/restore_all``; see :meth:`build`), named in ``saver_def``, so TensorFlow's
    ``import_meta_graph`` accepts the meta graphs ``save`` writes. ``save`` and ``restore`` themselves move the
    values through the session, in any format.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> v = tf.Variable(1.0, name="v")
        >>> saver = tf.train.Saver([v], max_to_keep=2)
        >>> d = tempfile.mkdtemp()
        >>> with tf.Session() as sess:
        ...     sess.run(v.initializer)
        ...     for step in range(3):
        ...         _ = saver.save(sess, os.path.join(d, "model"), global_step=step)
        >>> [os.path.basename(p) for p in saver.last_checkpoints]
        ['model-1', 'model-2']
        >>> with tf.Session() as sess:
        ...     saver.restore(sess, tf.train.latest_checkpoint(d))
        ...     print(sess.run(v))
        1.0
    """

    def __init__(self, var_list: Any = None, reshape: bool = False, sharded: bool = False, max_to_keep: int | None = 5,
                 keep_checkpoint_every_n_hours: float = 10000.0, name: str | None = None,
                 restore_sequentially: bool = False, saver_def: Any = None, builder: Any = None,
                 defer_build: bool = False, allow_empty: bool = False, write_version: Any = None,
                 pad_step_number: bool = False, save_relative_paths: bool = False, filename: str | None = None,
                 format: str = DEFAULT_FORMAT) -> None:  # noqa: A002 - TF-style keyword
        del reshape, sharded, restore_sequentially, builder, write_version
        if saver_def is not None:
            max_to_keep = saver_def.max_to_keep
            if saver_def.keep_checkpoint_every_n_hours > 0:
                keep_checkpoint_every_n_hours = saver_def.keep_checkpoint_every_n_hours
        self._var_list = _normalize_var_list(var_list)
        if not self._var_list and not allow_empty:
            raise ValueError("Saver: there are no variables to save; create variables first, pass var_list, "
                             "or pass allow_empty=True")
        self._format_name = format
        self._format = get_format(format)
        self._max_to_keep = _check_max_to_keep(max_to_keep, "saver_def.max_to_keep" if saver_def is not None
                                               else "max_to_keep")
        self._keep_hours = keep_checkpoint_every_n_hours
        self._next_preserved = time.time() + keep_checkpoint_every_n_hours * 3600
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._filename = filename
        self._last_checkpoints: list[tuple[str, float]] = []
        self._written: dict[str, tuple | None] = {}  # prefix -> fingerprint of the files this saver wrote
        self._lock = threading.Lock()  # guards the kept list when threads share this saver
        self._name = name
        self.saver_def = _meta_graph.default_saver_def(self._max_to_keep, keep_checkpoint_every_n_hours)
        graph = next(iter(self._var_list.values())).graph if self._var_list else None
        if saver_def is not None and graph is not None and names_resolve(graph, saver_def):
            self.saver_def = saver_pb2.SaverDef.FromString(saver_def.SerializeToString())  # its ops are in the graph
        elif not defer_build:
            self.build()

    def build(self) -> None:
        """Add TensorFlow's save/restore ops for the variables to their graph (``save/SaveV2``, ``save/RestoreV2``,
        ``save/restore_all``...) and name them in ``saver_def``, so TensorFlow can import the meta graph.

        The constructor calls it unless ``defer_build=True``. Nothing is added when there are no variables or
        their graph is finalized; ``save`` and ``restore`` work through the session either way.
        """
        graph = next(iter(self._var_list.values())).graph if self._var_list else None
        if graph is None or graph.finalized or names_resolve(graph, self.saver_def):
            return
        self.saver_def = build_saver_def(graph, self._var_list, self._max_to_keep, self._keep_hours,
                                         filename=self._filename, name=self._name)

    # -- introspection -----------------------------------------------------------------------
    @property
    def last_checkpoints(self) -> list[str]:
        """Prefixes of the checkpoints this saver still keeps, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    @property
    def format(self) -> str:  # noqa: A003
        """The name of the checkpoint format ``save`` writes."""
        return self._format_name

    def as_saver_def(self) -> Any:
        """The SaverDef recorded in meta graphs."""
        return self.saver_def

    def to_proto(self, export_scope: str | None = None) -> Any:
        return self.saver_def

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time: list) -> None:
        """Replace the kept list with ``[(prefix, timestamp), ...]``, oldest first."""
        self._last_checkpoints = [(str(p), float(t)) for p, t in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths: list) -> None:
        """Adopt existing checkpoints (e.g. ``get_checkpoint_state(d).all_model_checkpoint_paths``) as kept."""
        now = time.time()
        self._last_checkpoints = [(p, now) for p in checkpoint_paths if detect_format(p) is not None]

    # -- saving ------------------------------------------------------------------------------
    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: str | None = None,
             meta_graph_suffix: str = "meta", write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False) -> str:
        """Save the variables' values in ``sess`` to ``save_path`` (``save_path-<step>`` with a global step).

        Also writes ``<prefix>.meta`` (unless ``write_meta_graph=False``) and updates the ``checkpoint``
        state file beside it (unless ``write_state=False``); deletes checkpoints beyond ``max_to_keep``.
        Returns the checkpoint prefix.
        """
        del strip_default_attrs, save_debug_info
        if latest_filename is not None and os.path.basename(latest_filename) != latest_filename:
            raise ValueError(f"Saver.save: latest_filename must be a file name, not a path, got '{latest_filename}'")
        prefix = save_path if global_step is None else f"{save_path}-{self._step_text(sess, global_step)}"
        values = {}
        for name, var in self._var_list.items():
            if var.graph is not sess.graph:
                raise ValueError(f"Saver.save: variable '{var.name}' is not in the session's graph")
            values[name] = sess.read_variable(var)
        with path_lock(prefix):
            remove_stale_temps_in(os.path.dirname(os.path.abspath(prefix)))  # a killed save's, any format's
            self._format.write(prefix, values)
            fingerprint = _fingerprint(self._format, prefix)
            if write_meta_graph:
                _meta_graph.export_meta_graph(f"{prefix}.{meta_graph_suffix}", saver_def=self.saver_def,
                                              graph=sess.graph)
        if write_state:
            save_dir = os.path.dirname(prefix)
            # Read-modify-write of the kept list and the state file, and the deletions, as one step:
            # another saver of this folder must not delete or unlist what this one just committed.
            with self._lock, path_lock(os.path.join(save_dir, latest_filename or STATE_FILE)):
                doomed = self._record(prefix, fingerprint)
                update_checkpoint_state(save_dir, prefix, self.last_checkpoints, latest_filename,
                                        [t for _, t in self._last_checkpoints],
                                        save_relative_paths=self._save_relative_paths)
                for old, old_fingerprint in doomed:
                    self._delete_if_ours(old, old_fingerprint, meta_graph_suffix)
        return prefix

    def _step_text(self, sess: Any, global_step: Any) -> str:
        if isinstance(global_step, (Tensor, Variable)):
            global_step = sess.run(global_step)
        step = int(global_step)
        return f"{step:08d}" if self._pad_step_number else str(step)

    def _record(self, prefix: str, fingerprint: tuple | None) -> list[tuple[str, tuple | None]]:
        """Add ``prefix`` as the newest checkpoint; return ``(prefix, fingerprint)`` of those to delete.

        With ``max_to_keep`` 0 nothing is recorded and nothing deleted, as in TF.
        """
        if not self._max_to_keep:
            return []
        now = time.time()
        self._last_checkpoints = [(p, t) for p, t in self._last_checkpoints if p != prefix] + [(prefix, now)]
        self._written[prefix] = fingerprint
        doomed = []
        while len(self._last_checkpoints) > self._max_to_keep:
            old, stamp = self._last_checkpoints.pop(0)
            old_fingerprint = self._written.pop(old, None)
            if stamp >= self._next_preserved:
                self._next_preserved += self._keep_hours * 3600  # kept on disk by keep_checkpoint_every_n_hours
                continue
            doomed.append((old, old_fingerprint))
        return doomed

    def _delete_if_ours(self, prefix: str, fingerprint: tuple | None, meta_graph_suffix: str) -> None:
        """Delete the checkpoint ``prefix`` unless it was saved over since this saver wrote it."""
        with path_lock(prefix):
            if fingerprint is not None and _fingerprint(self._format, prefix) != fingerprint:
                return  # another saver or process committed this prefix since: its checkpoint, not ours
            _delete_checkpoint(prefix, meta_graph_suffix)

    # -- restoring ---------------------------------------------------------------------------
    def restore(self, sess: Any, save_path: str) -> None:
        """Load every variable of this saver from the checkpoint ``save_path`` into ``sess``.

        The format is detected from the files. Checksums are verified, and nothing is loaded unless
        every variable is present with the right dtype and shape; errors name the variable and the file.
        """
        if save_path is None:
            raise ValueError("Saver.restore: save_path is None; pass a checkpoint prefix, e.g. "
                             "tf.train.latest_checkpoint(folder)")
        try:
            fmt_name, fmt = require_format(save_path)
        except NotFoundError as exc:
            raise ValueError(f"The passed save_path is not a valid checkpoint: {exc.message}") from None
        _LOG.info("Restoring parameters from %s", save_path)  # TF's Saver.restore logs it too
        stored = fmt.read(save_path)
        where = f"checkpoint '{save_path}' ({fmt_name} format)"
        checked = []
        for name, var in self._var_list.items():
            if var.graph is not sess.graph:
                raise ValueError(f"Saver.restore: variable '{var.name}' is not in the session's graph")
            if name not in stored:
                known = ", ".join(sorted(stored)) or "nothing"
                raise NotFoundError(f"Key {name} not found in {where}: variable '{var.name}' has no saved value; the "
                                    f"checkpoint holds: {known}")
            checked.append((var, _check_value(name, var, stored[name], where)))
        for var, value in checked:
            sess.load_variable(var, value)

    def export_meta_graph(self, filename: str | None = None, collection_list: list | None = None,
                          as_text: bool = False, export_scope: str | None = None, clear_devices: bool = False,
                          clear_extraneous_savers: bool = False, strip_default_attrs: bool = False,
                          save_debug_info: bool = False) -> Any:
        """Export the default graph's MetaGraphDef with this saver's SaverDef (see ``tf.train.export_meta_graph``)."""
        return _meta_graph.export_meta_graph(filename, saver_def=self.saver_def, collection_list=collection_list,
                                             as_text=as_text, export_scope=export_scope, clear_devices=clear_devices)


def _check_max_to_keep(value: Any, source: str) -> int:
    """``value`` as the int max_to_keep (0 for None); TypeError or ValueError naming ``source`` otherwise.

    TF accepts ints and None, and raises TypeError for anything else (bools included).

    Example:
        >>> _check_max_to_keep(None, "max_to_keep"), _check_max_to_keep(3, "max_to_keep")
        (0, 3)
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Saver: {source} must be an int or None, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"Saver: {source} must be None or 0 (keep every checkpoint) or a positive int (keep that "
                         f"many), got {value}; TF's Saver accepts a negative value but then deletes every checkpoint "
                         "right after writing it")
    return int(value)


def _fingerprint(fmt: Any, prefix: str) -> tuple | None:
    """Identity of checkpoint ``prefix``'s first file (its commit point: native's index, the npz archive) now.

    Every save renames a new file into place, so a save over the prefix changes the inode. Only the
    first file counts, because a killed save may leave an extra data file beside a checkpoint that
    nobody saved over. None when it cannot be told.
    """
    try:
        st = os.stat(fmt.files(prefix)[0])
    except Exception:  # noqa: BLE001 - a plugin format's files() failing only costs the ownership check
        return None
    return (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)


def _check_value(name: str, var: Variable, value: np.ndarray, where: str) -> np.ndarray:
    want = var.dtype
    try:
        got = _dtypes.string if value.dtype.kind in "OSU" else _dtypes.as_dtype(value.dtype)
    except TypeError:  # a dtype Tensorflux has no DType for (uint32, complex64...) read from a TF checkpoint
        got = value.dtype
    if got is not want:
        raise InvalidArgumentError(f"variable '{var.name}' (key '{name}') has dtype {want.name}, but {where} stores "
                                   f"{got.name}")
    if not var.shape.is_compatible_with(list(value.shape)):
        raise InvalidArgumentError(f"variable '{var.name}' (key '{name}') has shape {var.shape.as_list()}, but {where} "
                                   f"stores shape {list(value.shape)}")
    return value


def _normalize_var_list(var_list: Any) -> dict[str, Variable]:
    if var_list is None:
        var_list = global_variables()
    if isinstance(var_list, dict):
        items = list(var_list.items())
    elif isinstance(var_list, (list, tuple, set, frozenset)):
        items = [(getattr(v, "op", None) and v.op.name, v) for v in var_list]
    else:
        raise TypeError(f"Saver: var_list must be a list or dict of variables, got {type(var_list).__name__}")
    out: dict[str, Variable] = {}
    for name, var in items:
        if not isinstance(var, Variable):
            raise TypeError(f"Saver: var_list entry {name!r} is a {type(var).__name__}, expected a tf.Variable")
        if name in out and out[name] is not var:
            raise ValueError(f"Saver: at least two variables have the same name: '{name}'")
        out[name] = var
    return out


def _delete_checkpoint(prefix: str, meta_graph_suffix: str) -> None:
    """Delete a checkpoint's files (in every format that recognizes it) and its meta graph."""
    found = detect_format(prefix)
    paths = (found[1].files(prefix) if found else []) + [f"{prefix}.{meta_graph_suffix}"]
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            try:
                os.unlink(path)
            except OSError as exc:
                warnings.warn(f"Saver: could not delete old checkpoint file '{path}': {exc}", stacklevel=3)


def import_meta_graph(meta_graph_or_file: Any, clear_devices: bool = False, import_scope: str | None = None,
                      **kwargs: Any) -> Any:
    """Recreate the graph and collections saved in a MetaGraphDef in the default graph; return a Saver.

    The Saver restores the imported variables (it is None when the graph has none). Use it as
    ``saver.restore(sess, checkpoint_prefix)``.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> v = tf.Variable(3.0, name="v")
        >>> path = os.path.join(tempfile.mkdtemp(), "model.meta")
        >>> _ = tf.train.export_meta_graph(path)
        >>> with tf.Graph().as_default():
        ...     saver = tf.train.import_meta_graph(path)
        ...     [x.name for x in tf.global_variables()]
        ['v:0']
    """
    mg = _meta_graph.as_meta_graph_message(meta_graph_or_file)
    var_list, _ = _meta_graph.import_scoped_meta_graph(mg, clear_devices=clear_devices, import_scope=import_scope,
                                           input_map=kwargs.pop("input_map", None))
    if not var_list:
        return None
    saver_def = mg.saver_def if mg.HasField("saver_def") else None
    if saver_def is not None and import_scope:  # the saver's ops were imported under the scope too
        saver_def = saver_pb2.SaverDef.FromString(saver_def.SerializeToString())
        for field in ("filename_tensor_name", "save_tensor_name", "restore_op_name"):
            if getattr(saver_def, field):
                setattr(saver_def, field, f"{import_scope.rstrip('/')}/{getattr(saver_def, field)}")
    return Saver(var_list=var_list, saver_def=saver_def, **kwargs)
