"""A tensorflux graph -> a float TF Lite :class:`~tensorflux_mobile.model.Model`.

Walks back from the outputs, so only what they need is converted (optimizer updates, summaries and other
training-only ops are never reached). On the way:

- every tensor computable without the inputs (variables, constants, anything computed from them) is folded:
  evaluated in the session, all at once, and written as a constant;
- dropout whose keep probability folds to 1 (a placeholder bound to 1.0, a ``placeholder_with_default``) is
  an identity: ``x / 1 * floor(1 + uniform)`` is ``x``;
- a bias add, a per-channel multiply or add (batch normalization in any of its forms: ``FusedBatchNorm``,
  or the ``x * a + b`` that ``tf.layers.batch_normalization`` and a folded graph leave) and a following
  relu or relu6 fold into the CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED before them, when that op's
  result has no other reader.

Example:
    >>> import tensorflux as tf
    >>> from tensorflux_mobile.lowering import lower_graph
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     x = tf.placeholder(tf.float32, [None, 3], name="x")
    ...     y = tf.nn.relu(tf.matmul(x, tf.ones([3, 2])) + 1.0, name="y")
    ...     sess = tf.Session()
    >>> m = lower_graph(sess, [x], [y])
    >>> [(op.code, op.options["activation"]) for op in m.ops]
    [('FULLY_CONNECTED', 'RELU')]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lowering_base import _READABLE_STATE, ONES, ConversionError, _np_dtype, _shape
from .lowering_rules import RULES
from .model import Model

__all__ = ["ConversionError", "lower_graph"]


class _Lowering:
    def __init__(self, session: Any, inputs: list, outputs: list, feed_dict: dict) -> None:
        self.session, self.inputs, self.outputs = session, inputs, outputs
        self.feed = feed_dict
        self.model = Model()
        self.value: dict = {}  # tensor name -> IR tensor index | np.ndarray | ONES
        self._foldable: dict = {}
        self.readers: dict = {}

    # -- analysis -----------------------------------------------------------------------------------------
    def foldable(self, t: Any) -> bool:
        """Whether ``t`` can be computed without the model inputs (so it becomes a constant)."""
        stack = [t]
        while stack:
            cur = stack[-1]
            if cur.name in self._foldable:
                stack.pop()
                continue
            op = cur.op
            if cur.name in self.input_names:
                self._foldable[cur.name] = False
            elif op.type == "Placeholder":
                if cur.name not in self.feed_names:
                    raise ConversionError(
                        f"placeholder '{op.name}' is neither a model input nor bound to a value; pass it in "
                        f"inputs, or give its value with feed_dict (e.g. a dropout keep probability of 1.0)")
                self._foldable[cur.name] = True
            elif op.op_def.stateful and op.type not in _READABLE_STATE:
                self._foldable[cur.name] = False
            else:
                pending = [i for i in op.inputs if i.name not in self._foldable]
                if pending:
                    stack.extend(pending)
                    continue
                self._foldable[cur.name] = all(self._foldable[i.name] for i in op.inputs)
            stack.pop()
        return self._foldable[t.name]

    def needed_ops(self) -> list:
        """Ops between the inputs and the outputs that must be lowered, in execution order."""
        order, seen = [], set()
        for out in self.outputs:
            stack = [(out.op, False)]
            while stack:
                op, done = stack.pop()
                if done:
                    order.append(op)
                    continue
                if op.name in seen:
                    continue
                seen.add(op.name)
                stack.append((op, True))
                for t in op.inputs:
                    if t.name in self.input_names or self.foldable(t) or self._is_dropout_mask(t):
                        continue
                    stack.append((t.op, False))
        return order

    def _is_dropout_mask(self, t: Any) -> bool:
        # floor(keep + uniform[0, 1)) is all ones when keep is 1.
        if t.op.type != "Floor":
            return False
        add = t.op.inputs[0].op
        if add.type not in ("Add", "AddV2") or len(add.inputs) != 2:
            return False
        for noise, keep in (add.inputs, add.inputs[::-1]):
            if noise.op.type.startswith("RandomUniform") and self.foldable(keep):
                return True
        return False

    # -- values -------------------------------------------------------------------------------------------
    def evaluate_constants(self, ops: list) -> None:
        wanted = {}
        for op in ops:
            for t in op.inputs:
                if t.name not in self.input_names and t.name not in self.value and self.foldable(t):
                    wanted[t.name] = t
        for out in self.outputs:
            if self.foldable(out):
                raise ConversionError(f"output '{out.name}' does not depend on any input; nothing to convert")
        if wanted:
            names = list(wanted)
            results = self.session.run([wanted[n] for n in names], feed_dict=self.feed or None)
            for name, value in zip(names, results):
                self.value[name] = np.asarray(value)
        for op in ops:
            for t in op.inputs:
                if self._is_dropout_mask(t):
                    keep = [k for k in t.op.inputs[0].op.inputs if self.foldable(k)][0]
                    keep_value = np.asarray(self.session.run(keep, feed_dict=self.feed or None))
                    if not np.all(keep_value == 1):
                        raise ConversionError(f"dropout '{t.op.name}' keeps with probability {keep_value}, not 1; "
                                              f"bind its keep probability to 1.0 with feed_dict for inference")
                    self.value[t.name] = ONES

    def const(self, t: Any) -> np.ndarray | None:
        v = self.value.get(t.name)
        return v if isinstance(v, np.ndarray) else None

    def tensor(self, t: Any, what: str) -> int:
        """The IR tensor index of ``t``, a constant tensor when it folded."""
        v = self.value.get(t.name)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, np.ndarray):
            cache = self.__dict__.setdefault("_const_index", {})
            if t.name not in cache:  # constants stay arrays in self.value; each use shares one tensor
                cache[t.name] = self.model.add_constant(t.op.name, v.astype(np.float32) if v.dtype == np.float64 else v)
            return cache[t.name]
        raise ConversionError(f"{what}: input '{t.name}' was not converted")

    def new_output(self, t: Any) -> int:
        idx = self.model.add_tensor(t.op.name, _shape(t), _np_dtype(t))
        self.value[t.name] = idx
        return idx

    def sole_reader(self, t: Any) -> bool:
        """Whether ``t`` feeds only one op and is not a model output (so its producer may absorb that op)."""
        return self.readers.get(t.name, 0) == 1 and t.name not in self.output_names

    # -- driver -------------------------------------------------------------------------------------------
    def run(self) -> Model:
        self.input_names = {t.name for t in self.inputs}
        self.output_names = {t.name for t in self.outputs}
        self.feed_names = {getattr(k, "name", k) for k in self.feed}
        for t in self.inputs:
            if t.dtype.name != "float32":
                raise ConversionError(f"input '{t.name}' is {t.dtype.name}; the converter takes float32 inputs")
            self.model.inputs.append(self.new_output(t))
        ops = self.needed_ops()
        self.evaluate_constants(ops)
        for op in ops:
            for t in op.inputs:
                self.readers[t.name] = self.readers.get(t.name, 0) + 1

        for op in ops:
            rule = RULES.get(op.type)
            if rule is None:
                raise ConversionError(f"op '{op.name}' ({op.type}) has no TF Lite builtin in this converter; it "
                                      f"converts {', '.join(sorted(RULES))}")
            rule(self, op)
        for out in self.outputs:
            idx = self.tensor(out, f"output '{out.name}'")
            if idx in self.model.inputs or idx in self.model.outputs:
                raise ConversionError(f"output '{out.name}' is a model input or repeats an output")
            self.model.tensors[idx].name = out.op.name  # a fused chain's tensor takes its last op's name
            self.model.outputs.append(idx)
        self.model.compact()
        return self.model


def lower_graph(session: Any, inputs: list, outputs: list, feed_dict: dict | None = None) -> Model:
    """The float model computing ``outputs`` from ``inputs`` in ``session``'s graph (tensors of that graph).

    ``feed_dict`` binds placeholders that are not inputs (a dropout keep probability) to constant values.
    """
    return _Lowering(session, list(inputs), list(outputs), dict(feed_dict or {})).run()
