"""Traced runs: ``Session.run(..., options=RunOptions(trace_level=FULL_TRACE), run_metadata=...)`` times each step.

Tracing is a separate run path: a traced run runs a copy of the plan whose steps are wrapped in a timer, so
the plan loop of an untraced run stays as it is (no per-op branch). The timings fill ``RunMetadata.step_stats``
with TF's ``StepStats`` layout: one ``DeviceStepStats`` per device, one ``NodeExecStats`` per step.

A step that a device compiled from several ops (``Device.compile_segment``) may say what it ran inside:
a ``trace_name`` attribute names the step, and a ``traced_ops()`` method returns ``(device label, [(node
name, timeline label, start ns after the step's start, duration ns), ...])`` for its last call; those go
into a ``DeviceStepStats`` of that label (the tpu_sim plugin reports its simulated times this way).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from ..proto.config_pb2 import RunMetadata as RunMetadata, RunOptions as RunOptions
from ..proto.step_stats_pb2 import StepStats

# (step index, start ns since the run's origin, end ns) per step that ran, in order.
_Record = tuple


def trace_level(options: Any) -> int:
    """The trace level ``options`` asks for (a RunOptions of ours or TF's, a dict, or None): 0 is none.

    Example:
        >>> trace_level(RunOptions(trace_level=RunOptions.FULL_TRACE)), trace_level(None)
        (3, 0)
    """
    if options is None:
        return 0
    level = options.get("trace_level", 0) if isinstance(options, dict) else getattr(options, "trace_level", 0)
    return int(level or 0)


class _Timed:
    """One step's kernel with a stopwatch: appends ``(index, start, end)`` (perf-counter ns) to ``records``."""

    __slots__ = ("fn", "index", "records")

    def __init__(self, fn: Any, index: int, records: list) -> None:
        self.fn, self.index, self.records = fn, index, records

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.records.append((self.index, start, time.perf_counter_ns()))


def run_traced(plan: Any, feed_values: list, state: Any, options: Any, run_metadata: Any) -> list:
    """Run ``plan`` as ``plan.run`` does; with tracing asked for, also fill ``run_metadata.step_stats``.

    ``run_metadata`` may be our RunMetadata or TF's (the StepStats travel as bytes). Steps that ran before
    an error are recorded too.
    """
    if trace_level(options) <= 0 or run_metadata is None:
        return plan.run(feed_values)
    records: list = []
    traced = copy.copy(plan)
    traced._walk = [(_Timed(step[0], i, records),) + tuple(step[1:]) for i, step in enumerate(plan._walk)]
    origin_ns, origin_wall_ns = time.perf_counter_ns(), time.time_ns()
    try:
        return traced.run(feed_values)
    finally:
        stats = step_stats(plan, state, records, origin_wall_ns - origin_ns)
        run_metadata.step_stats.ParseFromString(stats.SerializeToString())


def step_stats(plan: Any, state: Any, records: list, wall_offset_ns: int) -> StepStats:
    """The ``StepStats`` of ``records`` (step, start, end in perf-counter ns), one DeviceStepStats per device."""
    stats = StepStats()
    by_device: dict = {}
    for index, start, end in records:
        op = plan.step_ops[index]
        fn = plan.steps[index][0]
        device = _step_device(fn, op, state)
        dev_stats = by_device.get(device)
        if dev_stats is None:
            dev_stats = by_device[device] = stats.dev_stats.add(device=device)
        node = dev_stats.node_stats.add()
        is_copy = hasattr(fn, "dst") and hasattr(fn, "src")
        name = getattr(fn, "trace_name", None)
        node.node_name = f"{op.name}/_copy_from_{fn.src.name}" if is_copy else name or op.name
        node.timeline_label = (f"{node.node_name} = _Copy({fn.src.name} -> {fn.dst.name})" if is_copy
                               else name or f"{op.name} = {op.type}({', '.join(_input_name(t) for t in op.inputs)})")
        start_ns = start + wall_offset_ns
        _timed(node, start_ns, max(end - start, 0))
        traced = getattr(fn, "traced_ops", None)
        if traced is not None:
            label, inner = traced()
            inner_stats = by_device.get(label)
            if inner_stats is None:
                inner_stats = by_device[label] = stats.dev_stats.add(device=label)
            for node_name, timeline_label, offset_ns, duration_ns in inner:
                inner_node = inner_stats.node_stats.add(node_name=node_name, timeline_label=timeline_label)
                _timed(inner_node, start_ns + int(offset_ns), int(duration_ns))
    return stats


def _timed(node: Any, start_ns: int, duration_ns: int) -> None:
    node.all_start_nanos = node.scheduled_nanos = start_ns
    node.all_start_micros = node.scheduled_micros = start_ns // 1000
    node.op_end_rel_nanos = node.all_end_rel_nanos = duration_ns
    # At least 1 us, as TF reports a step that took less: viewers drop zero-length events.
    node.op_end_rel_micros = node.all_end_rel_micros = max(duration_ns // 1000, 1)


def _step_device(fn: Any, op: Any, state: Any) -> str:
    if hasattr(fn, "dst") and hasattr(fn, "src"):  # a copy between devices runs on (and is timed by) its target
        return fn.dst.name
    placed = state.placement.get(op) if op is not None else None
    device = placed[0] if placed else None
    return device.name if device is not None else state.host.name


def _input_name(tensor: Any) -> str:
    # As a NodeDef names its inputs (and TF's labels show them): output 0 by the op's name alone.
    return tensor.name[:-2] if tensor.name.endswith(":0") else tensor.name
