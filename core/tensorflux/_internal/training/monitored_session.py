"""``tf.train.MonitoredSession`` and ``MonitoredTrainingSession``: a session that initializes or restores its
variables, runs hooks around every ``run`` and knows when training should stop.

A session-level module: it sits above ``session.py`` and imports it.
"""

from __future__ import annotations

from typing import Any

from ..checkpoint.state import latest_checkpoint
from ..errors import OutOfRangeError
from ..graph import get_default_graph
from ..session import Session
from ..variables import global_variables, global_variables_initializer, local_variables_initializer
from .hooks import (
    CheckpointSaverHook,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    StepCounterHook,
    SummarySaverHook,
)

USE_DEFAULT = object()  # TF's marker: "the default" differs from None, which turns a hook off


class ChiefSessionCreator:
    """Creates a session and restores the latest checkpoint of ``checkpoint_dir`` (or
    ``checkpoint_filename_with_path``) into it, else runs the variables' initializers."""

    def __init__(self, scaffold: Any = None, master: str = "", config: Any = None, checkpoint_dir: str | None = None,
                 checkpoint_filename_with_path: str | None = None) -> None:
        if scaffold is not None:
            raise ValueError("tf.train.Scaffold is not implemented in tensorflux; pass scaffold=None")
        self._config, self._dir, self._path = config, checkpoint_dir, checkpoint_filename_with_path
        self._saver: Any = None
        self._init_ops: list = []

    def prepare(self) -> None:
        """Build the ops the session will need (initializers, a Saver) while the graph can still change."""
        from ..checkpoint.saver import Saver

        if global_variables():
            self._saver = Saver()
        self._init_ops = [global_variables_initializer(), local_variables_initializer()]

    def create_session(self) -> Session:
        if not self._init_ops:
            self.prepare()
        session = Session(config=self._config)
        path = self._path or (latest_checkpoint(self._dir) if self._dir else None)
        if path and self._saver is not None:
            self._saver.restore(session, path)
            session.run(self._init_ops[1])
        else:
            session.run(self._init_ops)
        return session


class MonitoredSession:
    """A session that calls its hooks: ``begin`` now, ``after_create_session`` once created, ``before_run`` and
    ``after_run`` around each :meth:`run` (their fetches merged into it), ``end`` on :meth:`close`.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> step = tf.train.get_or_create_global_step()
        >>> train = tf.assign_add(step, 1)
        >>> with tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=3)]) as sess:
        ...     while not sess.should_stop():
        ...         _ = sess.run(train)
        ...     int(sess.run(step))
        3
    """

    def __init__(self, session_creator: Any = None, hooks: list | None = None,
                 stop_grace_period_secs: float = 120) -> None:
        self._creator = session_creator or ChiefSessionCreator()
        self._hooks: list[SessionRunHook] = list(hooks or [])
        self._graph = get_default_graph()
        for hook in self._hooks:
            hook.begin()
        if hasattr(self._creator, "prepare"):
            self._creator.prepare()
        self._graph.finalize()
        self._sess = self._creator.create_session()
        for hook in self._hooks:
            hook.after_create_session(self._sess, None)
        self._stop = False
        self._closed = False

    @property
    def graph(self) -> Any:
        return self._graph

    def should_stop(self) -> bool:
        """True once a hook requested a stop, the input ran out (OutOfRangeError), or the session closed."""
        return self._stop or self._closed

    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        """Run ``fetches`` with every hook's fetches and feeds added; returns the caller's results only."""
        context = SessionRunContext(SessionRunArgs(fetches, feed_dict, options), self._sess)
        hook_fetches, feeds = {}, dict(feed_dict or {})
        for i, hook in enumerate(self._hooks):
            args = hook.before_run(context)
            if args is None:
                continue
            if args.fetches is not None:
                hook_fetches[i] = args.fetches
            for key, value in (args.feed_dict or {}).items():
                if key in feeds:
                    raise RuntimeError(f"Same tensor is fed by a SessionRunHook and user: {key}")
                feeds[key] = value
        try:
            results = self._sess.run({"caller": fetches, "hooks": hook_fetches}, feed_dict=feeds or None,
                                     options=options, run_metadata=run_metadata)
        except OutOfRangeError:
            self._stop = True
            raise
        for i, hook in enumerate(self._hooks):
            hook.after_run(context, SessionRunValues(results["hooks"].get(i), options, run_metadata))
        self._stop = self._stop or context.stop_requested
        return results["caller"]

    def run_step_fn(self, step_fn: Any) -> Any:
        """Call ``step_fn(step_context)``, whose ``session`` runs with hooks and ``request_stop`` stops."""
        context = _StepContext(self)
        result = step_fn(context)
        self._stop = self._stop or context.stop_requested
        return result

    def close(self) -> None:
        """Call every hook's ``end`` and close the session."""
        self._close(call_end=True)

    def _close(self, call_end: bool) -> None:
        if self._closed:
            return
        try:
            if call_end:
                for hook in self._hooks:
                    hook.end(self._sess)
        finally:
            self._closed = True
            self._sess.close()

    def __enter__(self) -> "MonitoredSession":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        # As TF: running out of input ends training quietly; any other error skips the hooks' end.
        quiet = exc_type is not None and issubclass(exc_type, (OutOfRangeError, StopIteration))
        self._close(call_end=exc_type is None or quiet)
        return quiet


class _StepContext:
    """What ``run_step_fn`` passes: the monitored session (runs with hooks) and ``request_stop``."""

    def __init__(self, monitored: MonitoredSession) -> None:
        self.session, self.stop_requested = monitored, False

    def run_with_hooks(self, *args: Any, **kwargs: Any) -> Any:
        return self.session.run(*args, **kwargs)

    def request_stop(self) -> None:
        self.stop_requested = True


class SingularMonitoredSession(MonitoredSession):
    """A :class:`MonitoredSession` for one process, with :meth:`raw_session` to run without hooks."""

    def __init__(self, hooks: list | None = None, scaffold: Any = None, master: str = "", config: Any = None,
                 checkpoint_dir: str | None = None, stop_grace_period_secs: float = 120,
                 checkpoint_filename_with_path: str | None = None) -> None:
        creator = ChiefSessionCreator(scaffold, master, config, checkpoint_dir, checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)

    def raw_session(self) -> Session:
        """The underlying :class:`Session` (its runs call no hooks)."""
        return self._sess


def MonitoredTrainingSession(master: str = "", is_chief: bool = True, checkpoint_dir: str | None = None,  # noqa: N802
                             scaffold: Any = None, hooks: list | None = None, chief_only_hooks: list | None = None,
                             save_checkpoint_secs: Any = USE_DEFAULT, save_summaries_steps: Any = USE_DEFAULT,
                             save_summaries_secs: Any = USE_DEFAULT, config: Any = None,
                             stop_grace_period_secs: float = 120, log_step_count_steps: int | None = 100,
                             max_wait_secs: float = 7200, save_checkpoint_steps: Any = USE_DEFAULT,
                             summary_dir: str | None = None) -> MonitoredSession:
    """A :class:`MonitoredSession` for training, with TF 1.15's default hooks on the chief.

    With ``checkpoint_dir`` it restores the latest checkpoint there and saves every ``save_checkpoint_secs``
    (default 600) or ``save_checkpoint_steps``; it writes summaries every ``save_summaries_steps`` (default
    100) and the step rate every ``log_step_count_steps`` into ``summary_dir`` (default: ``checkpoint_dir``).
    ``master``, ``stop_grace_period_secs`` and ``max_wait_secs`` are accepted (one process, no waiting).

    Example:
        >>> import tempfile, tensorflux as tf
        >>> tf.reset_default_graph()
        >>> train = tf.assign_add(tf.train.get_or_create_global_step(), 1)
        >>> with tf.train.MonitoredTrainingSession(checkpoint_dir=tempfile.mkdtemp(),
        ...                                        hooks=[tf.train.StopAtStepHook(num_steps=2)]) as sess:
        ...     while not sess.should_stop():
        ...         _ = sess.run(train)
    """
    del master, max_wait_secs
    if save_checkpoint_steps is USE_DEFAULT and save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    elif save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_secs = None
    elif save_checkpoint_steps is USE_DEFAULT:
        save_checkpoint_steps = None
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    elif save_summaries_secs is USE_DEFAULT:
        save_summaries_secs = None
    elif save_summaries_steps is USE_DEFAULT:
        save_summaries_steps = None
    all_hooks = list(hooks or [])
    if not is_chief:
        creator = _WorkerSessionCreator(config)
        return MonitoredSession(creator, all_hooks, stop_grace_period_secs)
    all_hooks += list(chief_only_hooks or [])
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(StepCounterHook(every_n_steps=log_step_count_steps, output_dir=summary_dir))
        if save_summaries_steps and save_summaries_steps > 0 or save_summaries_secs and save_summaries_secs > 0:
            all_hooks.append(SummarySaverHook(save_steps=save_summaries_steps, save_secs=save_summaries_secs,
                                              output_dir=summary_dir))
    if checkpoint_dir and (save_checkpoint_secs and save_checkpoint_secs > 0
                           or save_checkpoint_steps and save_checkpoint_steps > 0):
        all_hooks.append(CheckpointSaverHook(checkpoint_dir, save_secs=save_checkpoint_secs,
                                             save_steps=save_checkpoint_steps))
    creator = ChiefSessionCreator(scaffold, config=config, checkpoint_dir=checkpoint_dir)
    return MonitoredSession(creator, all_hooks, stop_grace_period_secs)


class _WorkerSessionCreator(ChiefSessionCreator):
    """A non-chief's session: in one process there is no chief to wait for, so it initializes as the chief does."""

    def __init__(self, config: Any = None) -> None:
        super().__init__(config=config)
