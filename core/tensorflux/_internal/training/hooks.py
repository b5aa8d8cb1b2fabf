"""``tf.train.SessionRunHook`` and the hooks TF 1.15 ships: checkpoints, step rate, stop at a step, logging
tensors, NaN checks and summaries. A :class:`MonitoredSession` calls each hook's ``begin``,
``after_create_session``, ``before_run``/``after_run`` around every run, and ``end``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, NamedTuple

import numpy as np

from ..graph import get_default_graph
from .training_util import get_global_step

_LOG = logging.getLogger("tensorflux")


class SessionRunArgs(NamedTuple):
    """What a hook adds to a run: ``fetches`` (any structure), ``feed_dict`` and ``options``."""

    fetches: Any
    feed_dict: Any = None
    options: Any = None


class SessionRunValues(NamedTuple):
    """What a hook gets back: ``results`` of its own fetches, the run's ``options`` and ``run_metadata``."""

    results: Any
    options: Any
    run_metadata: Any


class SessionRunContext:
    """The run in progress as hooks see it: the caller's ``original_args``, the ``session``; ``request_stop``.

    Example:
        >>> ctx = SessionRunContext(SessionRunArgs(None), session=None)
        >>> ctx.request_stop(); ctx.stop_requested
        True
    """

    def __init__(self, original_args: SessionRunArgs, session: Any) -> None:
        self.original_args, self.session, self._stop_requested = original_args, session, False

    def request_stop(self) -> None:
        """Ask the monitored session to stop after this run (``should_stop()`` becomes True)."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested


class SessionRunHook:
    """Base class of hooks: every method is a no-op; override the ones you need.

    Example:
        >>> class Counter(SessionRunHook):
        ...     def begin(self): self.runs = 0
        ...     def after_run(self, run_context, run_values): self.runs += 1
        >>> Counter().before_run(None) is None
        True
    """

    def begin(self) -> None:
        """Called once before the session is created; the graph may still change here."""

    def after_create_session(self, session: Any, coord: Any) -> None:
        """Called once the session exists and its variables are initialized or restored."""

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        """Called before each run; may return :class:`SessionRunArgs` to add fetches and feeds."""
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        """Called after each run with the results of this hook's fetches."""

    def end(self, session: Any) -> None:
        """Called once when the monitored session closes without an error."""


class SecondOrStepTimer:
    """Fires every ``every_secs`` seconds or every ``every_steps`` steps (exactly one of them).

    Example:
        >>> timer = SecondOrStepTimer(every_steps=10)
        >>> timer.should_trigger_for_step(0), timer.update_last_triggered_step(0)[1], timer.should_trigger_for_step(5)
        (True, None, False)
    """

    def __init__(self, every_secs: float | None = None, every_steps: int | None = None) -> None:
        if (every_secs is None) == (every_steps is None):
            raise ValueError(f"Exactly one of every_secs and every_steps should be provided, got every_secs="
                             f"{every_secs} and every_steps={every_steps}")
        self._every_secs, self._every_steps = every_secs, every_steps
        self.reset()

    def reset(self) -> None:
        self._last_time: float | None = None
        self._last_step: int | None = None

    def should_trigger_for_step(self, step: int) -> bool:
        if self._last_step is None:
            return True
        if self._last_step == step:
            return False
        if self._every_secs is not None:
            return time.time() >= self._last_time + self._every_secs
        return step >= self._last_step + self._every_steps

    def update_last_triggered_step(self, step: int) -> tuple[float | None, int | None]:
        """Mark ``step`` as triggered; returns (seconds, steps) since the previous trigger (None the first time)."""
        now = time.time()
        elapsed = (None, None) if self._last_time is None else (now - self._last_time, step - self._last_step)
        self._last_time, self._last_step = now, step
        return elapsed

    def last_triggered_step(self) -> int | None:
        return self._last_step


def _global_step_or_fail(hook: str) -> Any:
    step = get_global_step()
    if step is None:
        raise RuntimeError(f"Global step should be created to use {hook}.")
    return step


class StopAtStepHook(SessionRunHook):
    """Request a stop once the global step reaches ``last_step``, or ``num_steps`` past where it started."""

    def __init__(self, num_steps: int | None = None, last_step: int | None = None) -> None:
        if (num_steps is None) == (last_step is None):
            raise ValueError(f"Exactly one of num_steps or last_step should be provided, got num_steps={num_steps} "
                             f"and last_step={last_step}")
        if num_steps is not None and num_steps < 0:
            raise ValueError(f"num_steps should be >= 0, got {num_steps}")
        self._num_steps, self._last_step = num_steps, last_step

    def begin(self) -> None:
        self._global_step = _global_step_or_fail("StopAtStepHook")

    def after_create_session(self, session: Any, coord: Any) -> None:
        if self._last_step is None:
            self._last_step = int(session.run(self._global_step)) + self._num_steps

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        # The fetched step was read before the train op; read it again only when it may have reached the end.
        if int(run_values.results) + 1 >= self._last_step:
            if int(run_context.session.run(self._global_step)) >= self._last_step:
                run_context.request_stop()


class CheckpointSaverHook(SessionRunHook):
    """Save a checkpoint every ``save_secs`` seconds or ``save_steps`` steps, after creating the session
    and at the end, as ``checkpoint_dir/model.ckpt-<step>``."""

    def __init__(self, checkpoint_dir: str, save_secs: float | None = None, save_steps: int | None = None,
                 saver: Any = None, checkpoint_basename: str = "model.ckpt", scaffold: Any = None,
                 listeners: list | None = None) -> None:
        self._dir, self._saver, self._listeners = checkpoint_dir, saver, list(listeners or [])
        self._path = os.path.join(checkpoint_dir, checkpoint_basename)
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self) -> None:
        from ..checkpoint.saver import Saver

        self._global_step = _global_step_or_fail("CheckpointSaverHook")
        if self._saver is None:
            self._saver = Saver()
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Any, coord: Any) -> None:
        step = int(session.run(self._global_step))
        self._save(session, step)
        self._timer.update_last_triggered_step(step)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._timer.should_trigger_for_step(int(run_values.results) + 1):
            step = int(run_context.session.run(self._global_step))
            if self._timer.should_trigger_for_step(step):
                self._timer.update_last_triggered_step(step)
                if self._save(run_context.session, step):
                    run_context.request_stop()

    def end(self, session: Any) -> None:
        step = int(session.run(self._global_step))
        if step != self._timer.last_triggered_step():
            self._save(session, step)
        for listener in self._listeners:
            listener.end(session, step)

    def _save(self, session: Any, step: int) -> bool:
        _LOG.info("Saving checkpoints for %d into %s.", step, self._path)
        for listener in self._listeners:
            listener.before_save(session, step)
        self._saver.save(session, self._path, global_step=step)
        return any(listener.after_save(session, step) for listener in self._listeners)


def _writer_for(output_dir: str | None, summary_writer: Any) -> Any:
    if summary_writer is not None or output_dir is None:
        return summary_writer
    from ..summary.writer import FileWriter

    return FileWriter(output_dir, get_default_graph())


class StepCounterHook(SessionRunHook):
    """Log (and write as summary ``global_step/sec``) how many global steps run per second."""

    def __init__(self, every_n_steps: int | None = 100, every_n_secs: float | None = None,
                 output_dir: str | None = None, summary_writer: Any = None) -> None:
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._output_dir, self._writer = output_dir, summary_writer

    def begin(self) -> None:
        self._writer = _writer_for(self._output_dir, self._writer)
        self._global_step = _global_step_or_fail("StepCounterHook")

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        step = int(run_values.results)
        if self._timer.should_trigger_for_step(step):
            secs, steps = self._timer.update_last_triggered_step(step)
            if secs is not None and secs > 0:
                rate = steps / secs
                _LOG.info("global_step/sec: %g", rate)
                if self._writer is not None:
                    from ...proto import summary_pb2

                    value = summary_pb2.Summary.Value(tag="global_step/sec", simple_value=rate)
                    self._writer.add_summary(summary_pb2.Summary(value=[value]), step)

    def end(self, session: Any) -> None:
        if self._writer is not None:
            self._writer.flush()


class LoggingTensorHook(SessionRunHook):
    """Log the values of ``tensors`` (a dict of names, or a list) every ``every_n_iter`` runs or
    ``every_n_secs`` seconds, and at the end with ``at_end``; ``formatter(values)`` may make the line."""

    def __init__(self, tensors: Any, every_n_iter: int | None = None, every_n_secs: float | None = None,
                 at_end: bool = False, formatter: Callable | None = None) -> None:
        if not at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        # TF logs a dict's tags sorted, whatever order they were given in.
        self._tag_order = sorted(tensors) if isinstance(tensors, dict) else [
            t if isinstance(t, str) else t.name for t in tensors]
        self._tensors = tensors if isinstance(tensors, dict) else dict(zip(self._tag_order, tensors))
        self._timer = None if at_end and every_n_iter is None and every_n_secs is None else SecondOrStepTimer(
            every_secs=every_n_secs, every_steps=every_n_iter)
        self._at_end, self._formatter = at_end, formatter

    def begin(self) -> None:
        graph = get_default_graph()
        self._fetches = {tag: graph.as_graph_element(t) for tag, t in self._tensors.items()}
        self._iter = 0
        if self._timer is not None:
            self._timer.reset()

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        self._should_log = self._timer is not None and self._timer.should_trigger_for_step(self._iter)
        return SessionRunArgs(self._fetches) if self._should_log else None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._should_log:
            self._log(run_values.results)
        self._iter += 1

    def end(self, session: Any) -> None:
        if self._at_end:
            self._log(session.run(self._fetches))

    def _log(self, values: dict) -> None:
        elapsed = self._timer.update_last_triggered_step(self._iter)[0] if self._timer is not None else None
        if self._formatter is not None:
            _LOG.info("%s", self._formatter(values))
            return
        # str(), as TF's "%s": a numpy float32 in an f-string prints as a float64 (0.22009485960006714).
        line = ", ".join(f"{tag} = {values[tag]!s}" for tag in self._tag_order)
        _LOG.info("%s (%.3f sec)", line, elapsed) if elapsed is not None else _LOG.info("%s", line)


class NanLossDuringTrainingError(RuntimeError):
    """The loss a :class:`NanTensorHook` watches became NaN."""

    def __str__(self) -> str:
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Fail (or, with ``fail_on_nan_loss=False``, request a stop) when ``loss_tensor`` is NaN."""

    def __init__(self, loss_tensor: Any, fail_on_nan_loss: bool = True) -> None:
        self._loss, self._fail = loss_tensor, fail_on_nan_loss

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._loss)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if np.isnan(run_values.results):
            if self._fail:
                raise NanLossDuringTrainingError
            _LOG.error("Model diverged with loss = NaN.")
            run_context.request_stop()


class SummarySaverHook(SessionRunHook):
    """Write ``summary_op`` (default: every summary merged) every ``save_steps`` steps or ``save_secs``
    seconds through a ``tf.summary.FileWriter`` in ``output_dir``."""

    def __init__(self, save_steps: int | None = None, save_secs: float | None = None, output_dir: str | None = None,
                 summary_writer: Any = None, scaffold: Any = None, summary_op: Any = None) -> None:
        if (summary_op is None) == (scaffold is None) and summary_op is not None:
            raise ValueError("Exactly one of scaffold or summary_op should be set.")
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._output_dir, self._writer, self._summary_op = output_dir, summary_writer, summary_op

    def begin(self) -> None:
        from ..ops.summary_ops import merge_all

        self._writer = _writer_for(self._output_dir, self._writer)
        self._global_step = _global_step_or_fail("SummarySaverHook")
        if self._summary_op is None:
            self._summary_op = merge_all()
        self._next_step: int | None = None

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        self._request = self._summary_op is not None and (
            self._next_step is None or self._timer.should_trigger_for_step(self._next_step))
        fetches = {"global_step": self._global_step}
        if self._request:
            fetches["summary"] = self._summary_op
        return SessionRunArgs(fetches)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        step = int(run_values.results["global_step"])
        if self._request and self._writer is not None:
            self._timer.update_last_triggered_step(step)
            self._writer.add_summary(run_values.results["summary"], step)
        self._next_step = step + 1

    def end(self, session: Any) -> None:
        if self._writer is not None:
            self._writer.flush()
