"""FunctionDefs and call nodes written by hand in TF's ops: TF's ``StatelessWhile`` node, and ``Scan`` and
``WhileGrad``, each as a ``PartitionedCall`` of a FunctionDef built here (:class:`FunctionBuilder`); a ``Scan``
whose function has stateful ops uses TF's ``StatefulPartitionedCall`` and ``While`` instead.

TF has no op for ``Scan`` or ``WhileGrad``. ``tf.map_fn`` in TF 2 is a ``While`` that reads each step's slice
from a TensorList and writes each result into another; a while loop's gradient is a second ``While`` that pops,
from TensorLists the forward loop filled, the loop variables each iteration entered with. The FunctionDefs built
here compute the same in those ops, so TF imports and runs them; a private attr, ``_tensorflux_op``, keeps our
op's own attributes, so importing the GraphDef here restores the ``Scan`` or ``WhileGrad`` itself (with its
gradient) rather than the loop.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ...proto import attr_value_pb2, function_pb2
from .. import dtypes as _dtypes
from ..graph import Operation, Tensor
from ..shapes import TensorShape
from .tensor_proto import shape_to_proto, to_tensor_proto

VARIANT = 21  # TF's DataType enum for a TensorList handle
MARKER = "_tensorflux_op"
PARALLEL_ITERATIONS = 10
# The attributes TF 2.21 writes on a functional If or While that come from no attribute of ours.
LOWER_USING_SWITCH_MERGE = attr_value_pb2.AttrValue(b=True)
NO_RESOURCE_INPUTS = attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue())


class ExportError(ValueError):
    """An op of the graph has no GraphDef form; the message names it and says what is supported."""


def arg_name(text: str, taken: set) -> str:
    """A name from ``text`` that TF takes for a function's argument (lower-case letters, digits and underscores,
    starting with a letter) and that is not in ``taken``; added to it.

    Example:
        >>> taken = {"x"}
        >>> arg_name("X", taken), arg_name("cond/Pred:0", taken)
        ('x_1', 'cond_pred_0')
    """
    base = re.sub(r"[^a-z0-9_]", "_", text.lower()) or "arg"
    base = base if base[0].isalpha() else f"arg_{base}"
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def write_while(node: Any, inputs: Any, cond: str, body: str, shapes: list) -> None:
    """Fill ``node`` as TF 2.21's ``StatelessWhile`` over ``inputs`` with FunctionDefs ``cond`` and ``body``."""
    node.op = "StatelessWhile"
    write_types(node, "T", inputs)
    node.attr["cond"].func.name = cond
    node.attr["body"].func.name = body
    write_shapes(node, shapes)
    node.attr["parallel_iterations"].i = PARALLEL_ITERATIONS
    node.attr["_lower_using_switch_merge"].CopyFrom(LOWER_USING_SWITCH_MERGE)
    node.attr["_num_original_outputs"].i = len(inputs)
    node.attr["_read_only_resource_inputs"].CopyFrom(NO_RESOURCE_INPUTS)


def write_types(node: Any, key: str, tensors: Any) -> None:
    """Attr ``key`` of ``node``: the list of the dtypes of ``tensors`` (tensors, dtypes or DataType numbers)."""
    node.attr[key].list.SetInParent()
    node.attr[key].list.type.extend(_enum(_dtype(t)) for t in tensors)


def _dtype(t: Any) -> Any:
    return t.dtype.base_dtype if isinstance(t, Tensor) else t


def write_shapes(node: Any, shapes: list) -> None:
    """Attr ``output_shapes`` of ``node``."""
    node.attr["output_shapes"].list.SetInParent()
    node.attr["output_shapes"].list.shape.extend(shape_to_proto(s) for s in shapes)


def _av(**kwargs: Any) -> attr_value_pb2.AttrValue:
    return attr_value_pb2.AttrValue(**kwargs)


def _types(types: list) -> attr_value_pb2.AttrValue:
    return _av(list=attr_value_pb2.AttrValue.ListValue(type=[_enum(t) for t in types]))


def _enum(t: Any) -> int:
    return t if isinstance(t, int) else _dtypes.as_dtype(t).enum


def _func(name: str) -> attr_value_pb2.AttrValue:
    return _av(func=attr_value_pb2.NameAttrList(name=name))


class FunctionBuilder:
    """A FunctionDef written node by node; tensors are referred to as TF's ``"node:output_arg:index"``.

    Example:
        >>> from tensorflux._internal.serialization.function_export import LibraryWriter
        >>> b = FunctionBuilder(LibraryWriter(), "negate")
        >>> x = b.arg(1, "x")
        >>> (y,) = b.node("Neg", [x], {"T": _av(type=1)}, ["y"])
        >>> b.ret([y], [1])
        >>> b.name, y, dict(b.fdef.ret)
        ('negate', 'neg:y:0', {'output_0': 'neg:y:0'})
    """

    def __init__(self, writer: Any, hint: str) -> None:
        self.writer = writer
        self.fdef = function_pb2.FunctionDef()
        self.fdef.signature.name = self.name = writer.unique_name(hint)
        self._taken: set = set()

    def arg(self, dtype: Any, hint: str = "arg") -> str:
        """A new argument of ``dtype``; its name, as nodes read it."""
        name = arg_name(hint, self._taken)
        self.fdef.signature.input_arg.add(name=name, type=_enum(dtype))
        return name

    def node(self, op: str, inputs: list, attrs: dict, outputs: list, counts: dict | None = None) -> list:
        """Add a node of ``op``; returns its outputs' references, ``counts[arg]`` of them for a list argument."""
        name = arg_name(op.lower(), self._taken)
        node = self.fdef.node_def.add(name=name, op=op, input=inputs)
        for key, value in attrs.items():
            node.attr[key].CopyFrom(value)
        return [f"{name}:{arg}:{i}" for arg in outputs for i in range((counts or {}).get(arg, 1))]

    def const(self, value: Any, dtype: Any) -> str:
        """A Const node holding ``value``."""
        dtype = _dtypes.as_dtype(dtype)
        return self.node("Const", [], {"dtype": _av(type=dtype.enum),
                                       "value": _av(tensor=to_tensor_proto(np.asarray(value, dtype.np_dtype), dtype))},
                         ["output"])[0]

    def call(self, function: str, inputs: list, tin: list, tout: list, stateful: bool = False) -> list:
        """A PartitionedCall (StatefulPartitionedCall if ``stateful``) of ``function``; its outputs."""
        return self.node("StatefulPartitionedCall" if stateful else "PartitionedCall", inputs,
                         call_attrs(function, tin, tout), ["output"], {"output": len(tout)})

    def add(self, op: str, a: str, b: str, dtype: Any) -> str:
        """A binary op of int or float operands (AddV2, Sub, Less...): its output ``z``."""
        return self.node(op, [a, b], {"T": _av(type=_enum(dtype))}, ["z"])[0]

    def ret(self, refs: list, dtypes: list) -> None:
        """The function's results, in order."""
        for j, (ref, dtype) in enumerate(zip(refs, dtypes)):
            name = arg_name(f"output_{j}", self._taken)
            self.fdef.signature.output_arg.add(name=name, type=_enum(dtype))
            self.fdef.ret[name] = ref

    def finish(self) -> str:
        """Add the function to the library; its name."""
        self.writer.library.function.add().CopyFrom(self.fdef)
        return self.name


def call_attrs(function: str, tin: list, tout: list) -> dict:
    """The attributes TF writes on a PartitionedCall of ``function``."""
    return {"Tin": _types(tin), "Tout": _types(tout), "f": _func(function), "config": _av(s=b""),
            "config_proto": _av(s=b""), "executor_type": _av(s=b"")}


def _element_shape(shape: TensorShape) -> np.ndarray:
    # A TensorList's element shape as TF passes it: -1 for an unknown dimension, a scalar -1 for an unknown rank.
    if shape.rank is None:
        return np.array(-1, np.int32)
    return np.array([-1 if d is None else d for d in shape.as_list()], np.int32)


def _loop(b: FunctionBuilder, types: list) -> list:
    return [b.arg(t, "loop_var") for t in types]


def write_scan(writer: Any, op: Operation, node: Any) -> None:
    """``Scan`` as a PartitionedCall of a While over TensorLists (how TF 2 builds ``map_fn``)."""
    num_carry, num_sliced = op.attrs["num_carry"], op.attrs["num_sliced"]
    reverse = op.attrs["reverse"]
    types = list(op.attrs["T"])
    tout = list(op.attrs["Tout"])
    shapes = list(op.attrs["output_shapes"])
    hint = op.name.replace("/", "_")
    body_name = writer.function(writer.branch(op, "body"), op.attrs["body"], f"{hint}_fn")
    # A function with variable updates or random draws goes through TF's stateful call and loop ops.
    stateful = bool(writer.branch(op, "body").stateful_ops())
    carry_t, xs_t, cap_t = types[:num_carry], types[num_carry:num_carry + num_sliced], types[num_carry + num_sliced:]
    ys_t = tout[num_carry:]
    x_shapes = [_slice_shape(t.shape) for t in op.inputs[num_carry:num_carry + num_sliced]]
    y_shapes = [_slice_shape(s) for s in shapes[num_carry:]]
    loop_t = [_dtypes.int32, _dtypes.int32] + carry_t + [VARIANT] * (num_sliced + len(ys_t)) + cap_t

    # cond: the step counter below the length.
    c = FunctionBuilder(writer, f"{hint}_cond")
    args = _loop(c, loop_t)
    c.ret([c.add("Less", args[0], args[1], _dtypes.int32)], [_dtypes.bool_])
    cond = c.finish()

    # body: read each slice, call the function, write what it emits, count the step.
    b = FunctionBuilder(writer, f"{hint}_body")
    args = _loop(b, loop_t)
    step, length = args[0], args[1]
    carry, xs = args[2:2 + num_carry], args[2 + num_carry:2 + num_carry + num_sliced]
    ys = args[2 + num_carry + num_sliced:2 + num_carry + num_sliced + len(ys_t)]
    cap = args[2 + num_carry + num_sliced + len(ys_t):]
    one = b.const(1, _dtypes.int32)
    index = b.add("Sub", b.add("Sub", length, one, _dtypes.int32), step, _dtypes.int32) if reverse else step
    slices = [b.node("TensorListGetItem", [x, index, b.const(_element_shape(s), _dtypes.int32)],
                     {"element_dtype": _av(type=_enum(t)), "Tshape": _av(type=_dtypes.int32.enum)}, ["item"])[0]
              for x, t, s in zip(xs, xs_t, x_shapes)]
    outs = b.call(body_name, carry + slices + cap, carry_t + xs_t + cap_t, tout, stateful)
    written = [b.node("TensorListSetItem", [y, index, out], {"element_dtype": _av(type=_enum(t)),
                                                             "resize_if_index_out_of_bounds": _av(b=False)},
                      ["output_handle"])[0] for y, out, t in zip(ys, outs[num_carry:], ys_t)]
    b.ret([b.add("AddV2", step, one, _dtypes.int32), length] + outs[:num_carry] + xs + written + cap, loop_t)
    body = b.finish()

    # The function the node calls: lists in, the loop, stacked results out.
    f = FunctionBuilder(writer, f"{hint}_scan")
    args = [f.arg(t, "input") for t in types]
    carry, xs, cap = args[:num_carry], args[num_carry:num_carry + num_sliced], args[num_carry + num_sliced:]
    shape_t = {"shape_type": _av(type=_dtypes.int32.enum)}
    lists = [f.node("TensorListFromTensor", [x, f.const(_element_shape(s), _dtypes.int32)],
                    {"element_dtype": _av(type=_enum(t)), **shape_t}, ["output_handle"])[0]
             for x, t, s in zip(xs, xs_t, x_shapes)]
    length = f.node("TensorListLength", [lists[0]], {}, ["length"])[0]
    reserved = [f.node("TensorListReserve", [f.const(_element_shape(s), _dtypes.int32), length],
                       {"element_dtype": _av(type=_enum(t)), **shape_t}, ["handle"])[0] for t, s in zip(ys_t, y_shapes)]
    loop_shapes = [TensorShape([])] * 2 + shapes[:num_carry] + [TensorShape([])] * (num_sliced + len(ys_t)) + \
        [t.shape for t in op.inputs[num_carry + num_sliced:]]
    loop = _while(f, [f.const(0, _dtypes.int32), length] + carry + lists + reserved + cap, loop_t, cond, body,
                  loop_shapes, stateful)
    final = loop[2 + num_carry + num_sliced:2 + num_carry + num_sliced + len(ys_t)]
    stacked = [f.node("TensorListStack", [h, f.const(_element_shape(s), _dtypes.int32)],
                      {"element_dtype": _av(type=_enum(t)), "num_elements": _av(i=-1)}, ["tensor"])[0]
               for h, t, s in zip(final, ys_t, y_shapes)]
    f.ret(loop[2:2 + num_carry] + stacked, tout)
    _call_node(node, f.finish(), types, tout, "Scan", {
        "body": _func(body_name), "num_carry": _av(i=num_carry), "num_sliced": _av(i=num_sliced),
        "reverse": _av(b=reverse), "T": _types(types), "Tout": _types(tout), "output_shapes": _shape_list(shapes)},
               stateful)


def write_while_grad(writer: Any, op: Operation, node: Any) -> None:
    """``WhileGrad`` as a PartitionedCall of two While loops: the forward one pushes each iteration's loop
    variables onto TensorLists, the backward one pops them and applies the body's gradient function."""
    n, g = op.attrs["num_loop_vars"], op.attrs["num_grad_loop_vars"]
    types, tdy, tgrad = list(op.attrs["T"]), list(op.attrs["Tdy"]), list(op.attrs["Tgrad"])
    m = len(types) - n
    hint = op.name.replace("/", "_")
    forward = op.name.rpartition("/")[0] or op.name
    cond_fn = writer.function(writer.branch(op, "cond"), op.attrs["cond"], f"{forward}_cond")
    body_fn = writer.function(writer.branch(op, "body"), (op.attrs["body"], m), f"{forward}_body", m)
    grad_b = writer.branch(op, "body_grad")
    grad_fn = writer.function(grad_b, op.attrs["body_grad"], f"{hint}_body_grad")
    var_t, cap_t = types[:n], types[n:]
    h = len(tgrad) - g
    int32 = _dtypes.int32

    # forward loop: [count, vars, histories, captured]
    fwd_t = [int32] + var_t + [VARIANT] * n + cap_t
    c = FunctionBuilder(writer, f"{hint}_forward_cond")
    args = _loop(c, fwd_t)
    c.ret(c.call(cond_fn, args[1:1 + n] + args[1 + 2 * n:], types, [_dtypes.bool_]), [_dtypes.bool_])
    fwd_cond = c.finish()
    b = FunctionBuilder(writer, f"{hint}_forward_body")
    args = _loop(b, fwd_t)
    count, values, hist, cap = args[0], args[1:1 + n], args[1 + n:1 + 2 * n], args[1 + 2 * n:]
    pushed = [b.node("TensorListPushBack", [hl, v], {"element_dtype": _av(type=_enum(t))}, ["output_handle"])[0]
              for hl, v, t in zip(hist, values, var_t)]
    new = b.call(body_fn, values + cap, types, types)[:n]
    b.ret([b.add("AddV2", count, b.const(1, int32), int32)] + new + pushed + cap, fwd_t)
    fwd_body = b.finish()

    # backward loop: [count, histories, grads of vars, grads of captured, captured]
    bwd_t = [int32] + [VARIANT] * n + tgrad + cap_t
    c = FunctionBuilder(writer, f"{hint}_backward_cond")
    args = _loop(c, bwd_t)
    c.ret([c.add("Greater", args[0], c.const(0, int32), int32)], [_dtypes.bool_])
    bwd_cond = c.finish()
    b = FunctionBuilder(writer, f"{hint}_backward_body")
    args = _loop(b, bwd_t)
    count, hist = args[0], args[1:1 + n]
    grads, cap_grads, cap = args[1 + n:1 + n + g], args[1 + n + g:1 + n + g + h], args[1 + n + g + h:]
    popped, entered = [], []
    for hl, t in zip(hist, var_t):
        handle, value = b.node("TensorListPopBack", [hl, b.const(-1, int32)], {"element_dtype": _av(type=_enum(t))},
                               ["output_handle", "tensor"])
        popped.append(handle)
        entered.append(value)
    outs = b.call(grad_fn, entered + cap + grads, [t.dtype.base_dtype for t in grad_b.inputs], tgrad)
    summed = [b.add("AddV2", s, o, t) for s, o, t in zip(cap_grads, outs[g:], tgrad[g:])]
    b.ret([b.add("Sub", count, b.const(1, int32), int32)] + popped + outs[:g] + summed + cap, bwd_t)
    bwd_body = b.finish()

    f = FunctionBuilder(writer, f"{hint}_while_grad")
    args = [f.arg(t, "input") for t in types] + [f.arg(t, "dy") for t in tdy]
    values, cap, dys = args[:n], args[n:n + m], args[n + m:]
    empty = [f.node("EmptyTensorList", [f.const(-1, int32), f.const(-1, int32)],
                    {"element_dtype": _av(type=_enum(t)), "shape_type": _av(type=int32.enum)}, ["handle"])[0]
             for t in var_t]
    unknown = TensorShape(None)
    fwd = _while(f, [f.const(0, int32)] + values + empty + cap, fwd_t, fwd_cond, fwd_body,
                 [TensorShape([])] + [unknown] * (2 * n) + [t.shape for t in op.inputs[n:n + m]])
    bwd = _while(f, [fwd[0]] + fwd[1 + n:1 + 2 * n] + dys + cap, bwd_t, bwd_cond, bwd_body,
                 [TensorShape([])] + [unknown] * (n + g + h) + [t.shape for t in op.inputs[n:n + m]])
    f.ret(bwd[1 + n:1 + n + g + h], tgrad)
    _call_node(node, f.finish(), types + tdy, tgrad, "WhileGrad", {
        "cond": _func(cond_fn), "body": _func(body_fn), "body_grad": _func(grad_fn), "num_loop_vars": _av(i=n),
        "num_grad_loop_vars": _av(i=g), "T": _types(types), "Tdy": _types(tdy), "Tgrad": _types(tgrad),
        "output_shapes": _shape_list(op.attrs["output_shapes"])})


def _while(b: FunctionBuilder, inputs: list, types: list, cond: str, body: str, shapes: list,
           stateful: bool = False) -> list:
    node = function_pb2.FunctionDef().node_def.add()
    write_while(node, types, cond, body, shapes)
    attrs = {k: node.attr[k] for k in node.attr}
    return b.node("While" if stateful else "StatelessWhile", inputs, attrs, ["output"], {"output": len(types)})


def _call_node(node: Any, function: str, tin: list, tout: list, op_type: str, attrs: dict,
               stateful: bool = False) -> None:
    node.op = "StatefulPartitionedCall" if stateful else "PartitionedCall"
    for key, value in call_attrs(function, tin, tout).items():
        node.attr[key].CopyFrom(value)
    marker = node.attr[MARKER].func
    marker.name = op_type
    for key, value in attrs.items():
        marker.attr[key].CopyFrom(value)


def _slice_shape(shape: TensorShape) -> TensorShape:
    return TensorShape(None) if shape.rank is None else TensorShape(shape.as_list()[1:])


def _shape_list(shapes: list) -> attr_value_pb2.AttrValue:
    return _av(list=attr_value_pb2.AttrValue.ListValue(shape=[shape_to_proto(s) for s in shapes]))

