"""A traced run's ``StepStats`` as a Chrome trace (TF's ``tensorflow.python.client.timeline`` API).

The JSON follows the Trace Event Format that ``chrome://tracing`` and Perfetto open: ``{"traceEvents": [...]}``
with one process per device (named by ``"M"`` metadata events) and one ``"X"`` complete event per op, ``ts`` and
``dur`` in microseconds.
"""

from __future__ import annotations

import json
from typing import Any


class Timeline:
    """Turns ``run_metadata.step_stats`` into Chrome-trace JSON.

    Example:
        >>> import json, tensorflux as tf
        >>> tf.reset_default_graph()
        >>> x = tf.placeholder(tf.float32, [2, 2])
        >>> meta, full = tf.RunMetadata(), tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
        >>> _ = tf.Session().run(tf.matmul(x, x), {x: [[1, 2], [3, 4]]}, options=full, run_metadata=meta)
        >>> trace = json.loads(Timeline(meta.step_stats).generate_chrome_trace_format())
        >>> sorted({e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "X"})
        ['MatMul']
    """

    def __init__(self, step_stats: Any, graph: Any = None) -> None:
        self._step_stats = step_stats
        self._graph = graph  # accepted as in TF; the labels already name each op's inputs

    def generate_chrome_trace_format(self, show_dataflow: bool = True, show_memory: bool = False) -> str:
        """The trace as a JSON string; ``show_dataflow`` and ``show_memory`` are accepted (no flow or memory
        events are drawn)."""
        events: list[dict] = []
        for pid, dev_stats in enumerate(self._step_stats.dev_stats):
            events.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": f"{dev_stats.device} Compute"}})
            events.append({"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}})
            for node in dev_stats.node_stats:
                events.append(_complete_event(node, pid))
        return json.dumps({"traceEvents": events}, indent=None, separators=(",", ":"))


def _complete_event(node: Any, pid: int) -> dict:
    name, op_type, inputs = _parse_label(node.timeline_label, node.node_name)
    args = {"name": node.node_name, "op": op_type}
    args.update({f"input{i}": text for i, text in enumerate(inputs)})
    return {"name": op_type, "cat": "Op", "ph": "X", "pid": pid, "tid": int(node.thread_id),
            "ts": int(node.all_start_micros), "dur": max(int(node.all_end_rel_micros), 1), "args": args}


def _parse_label(label: str, node_name: str) -> tuple[str, str, list]:
    """``'name = Type(a, b)'`` -> ``('name', 'Type', ['a', 'b'])``, as TF's timeline reads its labels."""
    if " = " not in label or "(" not in label:
        return node_name, node_name, []
    name, call = label.split(" = ", 1)
    op_type, rest = call.split("(", 1)
    inputs = [t.strip() for t in rest.rstrip(")").split(",") if t.strip()]
    return name, op_type, inputs
