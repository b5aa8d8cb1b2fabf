"""Compiling a segment placed on ``/mobile:0`` (a run of pure ops core's ``compile`` pass hands the device) into
``.tflite`` models that the plugin's :class:`~tensorflux_mobile.Interpreter` runs.

A :class:`SegmentProgram` replaces the segment's ops with one step. For each signature of input shapes and
dtypes it lowers the ops with the converter's rules (``lowering_rules.RULES``, the same fusions: bias, batch
norm and relu into CONV_2D / FULLY_CONNECTED), writes a TFL3 flatbuffer, loads it into an ``Interpreter`` and
then runs it per call: inputs -> ``set_tensor``, ``invoke``, outputs -> ``get_tensor``.

Weights: a segment input computed from constants and variables only (no feed, no random draw) is written
into the model as a constant, as the converter freezes variables (TF Lite's CONV_2D and FULLY_CONNECTED
need constant weights), and the segment's ops that read weights only are folded on the host first. Each
call checks those inputs against the values the model was built with (an unchanged variable is the same
read-only array; anything else costs one ``array_equal``, far cheaper than the products) and rebuilds the
model when one changed, so a variable trained on another device between two runs is seen by the next one.
A weight that changed on ``VOLATILE_AFTER`` calls in a row is fed from then on. Every other input is fed.

Ops the converter cannot express (no TF Lite builtin, weights that depend on a feed, a non-float32 result)
are split out: they run between the models on their bound kernel (core's reference kernels over numpy,
on the host), with one ``PlacementWarning`` naming them, as core's soft placement reports an op moved off
the device it was pinned to; with ``allow_soft_placement=False`` the run raises InvalidArgumentError
naming the op instead.

Example:
    >>> import numpy as np
    >>> import tensorflux as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, [None, 2])
    ...     with tf.device("/mobile:0"):
    ...         y = tf.nn.relu(tf.matmul(x, tf.ones([2, 3])) - 1.0)
    ...     tf.Session().run(y, {x: np.ones((1, 2), np.float32)}).tolist()
    [[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tensorflux.errors import InvalidArgumentError
from tensorflux.extend import PlacementWarning

from .flatbuffer_io import write_model
from .interpreter import Interpreter
from .lowering import _Lowering
from .lowering_base import _READABLE_STATE, ConversionError
from .lowering_rules import RULES
from .quantizer import quantize_dynamic, quantize_float16

# A weight that changed on this many calls in a row (a variable trained in step with the runs) is fed to the
# models from then on, and the ops that need it constant run on their kernels, instead of rebuilding every call.
VOLATILE_AFTER = 3
QUANTIZE = {None: None, "float16": quantize_float16, "dynamic": quantize_dynamic}
OPTIONS = ("quantize",)


@dataclass
class CompiledModel:
    """One model a segment compiled to: the ``.tflite`` bytes, its operators' codes and the graph ops it holds."""

    segment: int
    content: bytes
    operators: list
    ops: list


def check_options(options: dict) -> str | None:
    """The quantization mode that ``ConfigProto.device_options['mobile']`` asks for (None: float32).

    Example:
        >>> check_options({"quantize": "float16"})
        'float16'
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"ConfigProto.device_options['mobile']: unknown option(s) {unknown}; known: {list(OPTIONS)}")
    mode = options.get("quantize")
    if mode not in QUANTIZE:
        raise ValueError(f"ConfigProto.device_options['mobile']['quantize'] is {mode!r}; expected one of "
                         f"{list(QUANTIZE)} (int8 needs calibration data: use tensorflux_mobile.convert)")
    return mode


def _soft_placement(config: Any) -> bool:
    if isinstance(config, dict):
        return bool(config.get("allow_soft_placement", True))
    return bool(getattr(config, "allow_soft_placement", True))


def _static_refusal(node: Any) -> str:
    """Why ``node`` cannot be converted, as far as its op alone tells; '' when it may be."""
    op = node.op
    if op.type not in RULES:
        return "has no TF Lite builtin in tensorflux_mobile's converter"
    if len(node.args) != len(op.inputs) or len(node.results) != len(op.outputs):
        return "is a fused node whose inputs are not its op's"
    if any(r is not None and t.dtype.name != "float32" for r, t in zip(node.results, op.outputs)):
        return "computes a non-float32 result; the device's models are float32"
    return ""


class _Refused(Exception):
    def __init__(self, position: int, why: str) -> None:
        super().__init__(why)
        self.position, self.why = position, why


class _Piece:
    """A run of the segment's nodes lowered into one model: which values it reads (fed), writes, and bakes in."""

    def __init__(self, positions: list) -> None:
        self.positions = positions
        self.interpreter: Interpreter | None = None
        self.fed: list = []  # (value index, interpreter tensor index)
        self.written: list = []  # (value index, interpreter tensor index)
        self.passed: list = []  # (value index, value index it equals): an output that is an input
        self.constant: list = []  # (value index, array): an output that is a baked-in input

    def run(self, values: list, op: Any) -> None:
        it = self.interpreter
        if it is not None:
            try:
                for v, index in self.fed:
                    it.set_tensor(index, values[v])
                it.invoke()
            except Exception as exc:
                exc.tensorflux_op = op
                raise
            for v, index in self.written:
                values[v] = it.get_tensor(index)
        for v, source in self.passed:
            values[v] = values[source]
        for v, array in self.constant:
            values[v] = array


class _Executable:
    """The segment compiled for one input signature: model pieces and host steps in order, and the inputs
    baked into the models (with the values they were baked with)."""

    def __init__(self, steps: list, inputs: tuple, baked: set, folded: list) -> None:
        self.steps, self.folded = steps, folded
        self.baked = {i: (inputs[i], np.array(inputs[i], copy=True)) for i in sorted(baked)}

    def changed(self, inputs: tuple) -> list:
        """The baked-in inputs that no longer hold the values the models were built with."""
        out = []
        for i, (source, value) in self.baked.items():
            x = inputs[i]
            # A variable's value is a read-only array that an update replaces, never writes: the same
            # object is the same value. Anything else is compared.
            if x is source and isinstance(x, np.ndarray) and not x.flags.writeable and x.base is None:
                continue
            if not np.array_equal(x, value):
                out.append(i)
        return out


class SegmentProgram:
    """The callable that replaces one segment on ``/mobile:0``: compiles per input signature, caches, runs."""

    def __init__(self, device: Any, segment: Any) -> None:
        self.device, self.segment = device, segment
        self.quantize = check_options(segment.options)
        self.soft = _soft_placement(segment.config)
        self.size = len(segment.tensors)
        self.volatile: set = set()
        self._streak: dict = {}
        self.sources, self.folded = self._weights()
        self.tainted: set = set()
        self.refused: dict = {}
        self._refuse({p: why for p, node in enumerate(segment.nodes)
                      if p not in self.folded and (why := _static_refusal(node))})
        self.cache: dict = {}
        self.last: _Executable | None = None
        self._lock = threading.Lock()
        self.trace_name = f"cluster_{segment.index}: {len(segment.nodes)} ops converted for {device.name}"

    # -- analysis -------------------------------------------------------------------------------------------
    def _weights(self) -> tuple[dict, list]:
        """The weight values (computed from constants and variables only), each with the segment inputs it
        follows from, and the nodes folded on the host before the models run (those computing weights only).

        When every node computes weights only (a segment of constants) none is folded: the model then holds
        them all as constant operators, which the interpreter evaluates once, as TF Lite does.
        """
        segment = self.segment
        sources = {i: {i} for i, t in enumerate(segment.tensors[:segment.num_inputs])
                   if i not in self.volatile and self._is_weight(t)}
        folded = []
        for p, node in enumerate(segment.nodes):
            if all(a in sources for a in node.args):
                folded.append(p)
                deps = set().union(*(sources[a] for a in node.args))
                for r in node.results:
                    if r is not None:
                        sources[r] = deps
        if len(folded) == len(segment.nodes):
            return {v: deps for v, deps in sources.items() if v < segment.num_inputs}, []
        return sources, folded

    @staticmethod
    def _is_weight(tensor: Any) -> bool:
        """Whether ``tensor`` follows from constants and variables alone (no feed, random draw or other state)."""
        stack, seen = [getattr(tensor, "op", None)], set()
        while stack:
            op = stack.pop()
            if op is None or op.type in ("Placeholder", "PlaceholderWithDefault"):
                return False
            if op.name in seen:
                continue
            seen.add(op.name)
            if op.op_def.stateful and op.type not in _READABLE_STATE:
                return False
            if op.type not in ("VariableV2", "Variable", "VarHandleOp"):
                stack.extend(t.op for t in op.inputs)
        return True

    def _refuse(self, found: dict) -> None:
        """Split ``found`` ({node position: why}) out of the models, or raise when soft placement is off."""
        if not found:
            return
        self.refused.update(found)
        lines = [f"  Op '{self.segment.nodes[p].op.name}' ({self.segment.nodes[p].op.type}) {why}"
                 for p, why in sorted(found.items())]
        first = self.segment.nodes[min(found)].op
        if not self.soft:
            raise InvalidArgumentError(
                f"/mobile:0 cannot convert op '{first.name}' ({first.type}) into its TF Lite model: "
                f"{found[min(found)]}; the session's config has allow_soft_placement=False. Pin it to "
                "/cpu:0, or set allow_soft_placement=True to run it outside the model on the host", first)
        warnings.warn(f"{len(found)} op{'s' if len(found) > 1 else ''} placed on {self.device.name} cannot be "
                      "converted to TF Lite and run outside its model, on core's reference kernels on the host:\n"
                      + "\n".join(lines), PlacementWarning, stacklevel=2)

    # -- running --------------------------------------------------------------------------------------------
    def __call__(self, *inputs: Any) -> tuple:
        key = tuple((np.shape(x), getattr(x, "dtype", None)) for x in inputs)
        with self._lock:
            exe = self.cache.get(key)
            changed = exe.changed(inputs) if exe is not None else []
            if exe is not None and not changed:
                self.device.note_run(compiled=False)
                return self._run(exe, inputs)
            if changed:
                self._note_changes(exe, changed)
            exe, outputs = self._compile(inputs)
            self.cache[key] = exe
            self.device.note_run(compiled=True, recompiled=bool(changed))
            return outputs

    def _note_changes(self, exe: _Executable, changed: list) -> None:
        """Count the calls in a row on which each weight changed; feed those that keep changing."""
        for i in exe.baked:
            self._streak[i] = self._streak.get(i, 0) + 1 if i in changed else 0
        moving = {i for i, n in self._streak.items() if n >= VOLATILE_AFTER} - self.volatile
        if not moving:
            return
        self.volatile |= moving
        self.sources, self.folded = self._weights()
        self.tainted = set(self.volatile)
        for node in self.segment.nodes:
            if any(a in self.tainted for a in node.args):
                self.tainted.update(r for r in node.results if r is not None)
        # Ops that now read a fed weight were the device's choice, not the graph's: no warning for them.
        self.refused.update({p: why for p, node in enumerate(self.segment.nodes) if p not in self.folded
                             and p not in self.refused and (why := _static_refusal(node))})
        self.cache.clear()

    def _run(self, exe: _Executable, inputs: tuple) -> tuple:
        values: list = list(inputs) + [None] * (self.size - len(inputs))
        for v, value in exe.folded:
            values[v] = value
        for step in exe.steps:
            self._step(step, values)
        self.last = exe
        return tuple(values[i] for i in self.segment.outputs)

    def _compile(self, inputs: tuple) -> tuple[_Executable, tuple]:
        """Build the models on these inputs (their shapes, the weights' values), splitting out what fails."""
        while True:
            try:
                return self._build(inputs)
            except _Refused as refused:
                if any(a in self.tainted for a in self.segment.nodes[refused.position].args):
                    self.refused[refused.position] = refused.why
                else:
                    self._refuse({refused.position: refused.why})

    def _build(self, inputs: tuple) -> tuple[_Executable, tuple]:
        steps: list = []
        run: list = []
        folded = set(self.folded)
        baked: set = set()
        values: list = list(inputs) + [None] * (self.size - len(inputs))
        for p in self.folded:  # their results are kept with the executable: it checks what they follow from
            self._step(p, values)
            baked.update(*(self.sources[a] for a in self.segment.nodes[p].args))
        for p in range(len(self.segment.nodes)):
            if p in folded:
                continue
            if p in self.refused:
                if run:
                    steps.append(_Piece(run))
                    run = []
                steps.append(p)
            else:
                run.append(p)
        if run:
            steps.append(_Piece(run))
        later = self._later_readers(steps)
        records = []
        for k, step in enumerate(steps):
            if isinstance(step, _Piece):
                records.extend(self._lower(step, values, baked, later[k]))
            self._step(step, values)
        for record in records:
            self.device.note_model(record)
        kept = [(r, values[r]) for p in self.folded for r in self.segment.nodes[p].results if r is not None]
        exe = _Executable(steps, inputs, baked, kept)
        self.last = exe
        return exe, tuple(values[i] for i in self.segment.outputs)

    def _step(self, step: Any, values: list) -> None:
        nodes = self.segment.nodes
        if isinstance(step, _Piece):
            step.run(values, nodes[step.positions[-1]].op)
            return
        node = nodes[step]
        try:
            got = node.fn(*[values[i] for i in node.args])
        except Exception as exc:
            exc.tensorflux_op = node.op
            raise
        for r, value in zip(node.results, got if node.multi else (got,)):
            if r is not None:
                values[r] = value

    def _later_readers(self, steps: list) -> list:
        """For each step, the values that a later step or the segment's caller reads."""
        nodes = self.segment.nodes
        wanted = set(self.segment.outputs)
        out = [set() for _ in steps]
        for k in range(len(steps) - 1, -1, -1):
            out[k] = set(wanted)
            positions = steps[k].positions if isinstance(steps[k], _Piece) else [steps[k]]
            for p in positions:
                wanted.update(nodes[p].args)
        return out

    def _lower(self, piece: _Piece, values: list, baked: set, wanted: set) -> list:
        """Lower ``piece``'s nodes into one model and load it; returns its record."""
        nodes = self.segment.nodes
        produced = {r for p in piece.positions for r in nodes[p].results if r is not None}
        lw = _Lowering(None, [], [], {})
        lw.input_names, lw.feed_names = set(), set()
        name_of: dict = {}
        for p in piece.positions:
            for r, t in zip(nodes[p].results, nodes[p].op.outputs):
                if r is not None:
                    name_of[r] = t.name
        leaving = [r for r in sorted(produced) if r in wanted]
        lw.output_names = {name_of[r] for r in leaving}
        fed: list = []
        for p in piece.positions:
            node = nodes[p]
            for a, t in zip(node.args, node.op.inputs):
                lw.readers[t.name] = lw.readers.get(t.name, 0) + 1
                if a in produced or t.name in lw.value:
                    continue
                name_of[a] = t.name
                value = values[a]
                if a in self.sources:
                    lw.value[t.name] = np.asarray(value)
                    baked.update(self.sources[a])
                else:
                    value = np.asarray(value)
                    lw.value[t.name] = lw.model.add_tensor(t.op.name, value.shape, value.dtype)
                    fed.append(a)
        for p in piece.positions:
            op = nodes[p].op
            try:
                RULES[op.type](lw, op)
            except ConversionError as exc:
                raise _Refused(p, f"cannot be converted ({exc})") from exc
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:  # a rule's unforeseen case
                raise _Refused(p, f"cannot be converted ({type(exc).__name__}: {exc})") from exc
        model = lw.model
        read = {i for op in model.ops for i in op.inputs}
        tensor_of_fed = {lw.value[name_of[a]]: a for a in fed}
        fed = [a for a in fed if lw.value[name_of[a]] in read]
        model.inputs = [lw.value[name_of[a]] for a in fed]
        producer = {r: p for p in piece.positions for r in nodes[p].results if r is not None}
        outputs: list = []
        for r in leaving:
            v = lw.value.get(name_of[r])
            if isinstance(v, np.ndarray):
                piece.constant.append((r, v))
            elif isinstance(v, (int, np.integer)) and int(v) in tensor_of_fed:
                piece.passed.append((r, tensor_of_fed[int(v)]))
            elif isinstance(v, (int, np.integer)):
                if int(v) not in model.outputs:
                    model.outputs.append(int(v))
                outputs.append((r, model.outputs.index(int(v))))
            else:
                raise _Refused(producer[r], f"has an output that the converter does not produce ('{name_of[r]}')")
        if not model.ops:
            return []
        model.compact()
        if self.quantize:
            model = QUANTIZE[self.quantize](model)
        content = write_model(model)
        it = Interpreter(model_content=content)
        it.allocate_tensors()
        piece.interpreter = it
        piece.fed = [(a, it.model.inputs[k]) for k, a in enumerate(fed)]
        piece.written = [(r, it.model.outputs[k]) for r, k in outputs]
        return [CompiledModel(self.segment.index, content, [op.code for op in it.model.ops],
                              [nodes[p].op.name for p in piece.positions])]
