"""Control-flow ops into a GraphDef as TensorFlow writes them: ``If`` as ``StatelessIf``, ``While`` as
``StatelessWhile`` (as ``If`` and ``While`` where a function has stateful ops), each branch, condition and body a
``FunctionDef`` of ``GraphDef.library``.

In a graph, ``If`` and ``While`` name their functions by process-local tokens (``function_graph``); a GraphDef
names them by FunctionDef names instead, so the file means the same in another process, and in TensorFlow. A
FunctionDef's node inputs name tensors TensorFlow's way, ``"node:output_arg:index"`` (the index counts within that
output argument of the node's op), and a function argument by its bare name.

``Scan`` (``tf.map_fn``, ``tf.scan``, ``tf.foldl``) and ``WhileGrad`` (a while loop's gradient), which TF has no
op for, are written as calls of functions in TF's ops (``composite_export.py``).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ...proto import function_pb2
from ..function_graph import Branch, lookup
from ..graph import Operation
from .attr_value import attr_to_proto
from .composite_export import (
    LOWER_USING_SWITCH_MERGE,
    NO_RESOURCE_INPUTS,
    ExportError,
    arg_name,
    write_scan,
    write_shapes,
    write_types,
    write_while,
    write_while_grad,
)
from .tensor_proto import shape_to_proto


def output_arg(op: Operation, index: int) -> tuple[str, int]:
    """The output argument of ``op``'s OpDef holding output ``index``, and the index within that argument.

    Example:
        >>> import tensorflux as tf
        >>> a, b = tf.split(tf.zeros([4]), 2)
        >>> output_arg(b.op, 1)
        ('output', 1)
    """
    specs = op.op_def.output_specs
    start = 0
    for spec in specs:
        size = len(op.outputs) - (len(specs) - 1) if spec.variadic else 1
        if index < start + size:
            return spec.name, index - start
        start += size
    raise ExportError(f"op '{op.name}' ({op.type}) has no output {index}")


def _stateful(*branches: Branch) -> bool:
    # TF's stateless forms promise that rerunning or pruning the call changes nothing: not so with variables'
    # updates or random draws inside, which TF runs through its stateful If and While.
    return any(branch.stateful_ops() for branch in branches)


class LibraryWriter:
    """Collects the FunctionDefs a graph's control-flow ops call, one per traced function.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32, [])
        >>> y = tf.cond(x > 0.0, lambda: x * 2.0, lambda: -x)
        >>> gdef = tf.get_default_graph().as_graph_def()
        >>> [n.op for n in gdef.node if n.name == "cond/If"], len(gdef.library.function)
        (['StatelessIf'], 2)
    """

    def __init__(self) -> None:
        self.library = function_pb2.FunctionDefLibrary()
        self._names: dict[Any, str] = {}
        self._taken: set = set()
        self._writers: dict[str, Callable[[Operation, Any], None]] = {
            "If": self._write_if, "While": self._write_while,
            "Scan": lambda op, node: write_scan(self, op, node),
            "WhileGrad": lambda op, node: write_while_grad(self, op, node),
        }

    def handles(self, op: Operation) -> bool:
        """Whether ``op`` is a control-flow op that this writer turns into a TF node."""
        return op.type in self._writers

    def write_node(self, op: Operation, node: Any) -> None:
        """Fill ``node`` (a NodeDef named and with inputs already) as TF's form of ``op``."""
        self._writers[op.type](op, node)

    # -- functions ---------------------------------------------------------------------------------------------
    def function(self, branch: Branch, key: Any, hint: str, passthrough: int = 0) -> str:
        """The name of ``branch``'s FunctionDef in the library, written on first use (once per ``key``).

        ``passthrough`` appends that many of the last inputs to the results unchanged (a TF loop body returns
        every loop variable; ours keeps the captured tensors apart).
        """
        name = self._names.get(key)
        if name is None:
            name = self.unique_name(hint)
            self._names[key] = name
            self.library.function.add().CopyFrom(self._function_def(branch, name, passthrough))
        return name

    def unique_name(self, hint: str) -> str:
        """A function name not yet in the library, from ``hint`` (TF's function names: letters, digits, ``_``)."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", hint).strip("_") or "function"
        base = base if base[0].isalpha() else f"f_{base}"
        name, k = base, 0
        while name in self._taken:
            k += 1
            name = f"{base}_{k}"
        self._taken.add(name)
        return name

    def _function_def(self, branch: Branch, name: str, passthrough: int) -> function_pb2.FunctionDef:
        fdef = function_pb2.FunctionDef()
        fdef.signature.name = name
        inputs = [t.op for t in branch.inputs]
        for op in inputs:
            if op.type != "Placeholder":
                raise ExportError(f"function '{name}': input '{op.name}' is a {op.type}, not a placeholder")
        ops = branch.needed_ops()
        taken = {op.name.lower() for op in ops}
        args: dict[Operation, str] = {}
        for i, (op, t) in enumerate(zip(inputs, branch.inputs)):
            args[op] = arg_name(op.name.rpartition("/")[2], taken)
            fdef.signature.input_arg.add(name=args[op], type=t.dtype.base_dtype.enum)
            fdef.arg_attr[i].attr["_output_shapes"].list.shape.add().CopyFrom(shape_to_proto(t.shape))
        for op in ops:
            if op.type == "Placeholder":
                raise ExportError(f"function '{name}': placeholder '{op.name}' is neither an argument nor fed")
            if op.type == "VariableV2":
                raise ExportError(f"function '{name}': uses the ref variable '{op.name}' of the enclosing graph, "
                                  "which a TF function cannot take; only resource variables can be used inside "
                                  "an exported tf.cond or tf.while_loop")
            node = fdef.node_def.add(name=op.name, op=op.type)
            node.input.extend(args[t.op] if t.op in args else "{}:{}:{}".format(t.op.name, *output_arg(t.op, t.value_index))
                              for t in op.inputs)
            node.input.extend(f"^{c.name}" for c in op.control_inputs if c not in args)
            self.write_attrs(op, node)
        results = list(branch.outputs) + list(branch.inputs[len(branch.inputs) - passthrough:] if passthrough else [])
        for j, t in enumerate(results):
            out = arg_name(f"output_{j}", taken)
            fdef.signature.output_arg.add(name=out, type=t.dtype.base_dtype.enum)
            fdef.ret[out] = args[t.op] if t.op in args else "{}:{}:{}".format(t.op.name, *output_arg(t.op, t.value_index))
        return fdef

    def write_attrs(self, op: Operation, node: Any) -> None:
        """``op``'s attributes into ``node``; a control-flow op in TF's form, its functions into the library."""
        if self.handles(op):
            self.write_node(op, node)
            return
        for key, value in op.attrs.items():
            adef = op.op_def.attr_defs.get(key)
            av = attr_to_proto(adef.kind if adef else "?", value, f"attr '{key}' of node '{op.name}' ({op.type})")
            if av is not None:
                node.attr[key].CopyFrom(av)

    def branch(self, op: Operation, attr: str) -> Branch:
        """The traced function that attr ``attr`` of ``op`` names."""
        return lookup(op.attrs[attr], f"op '{op.name}' ({op.type}) attr '{attr}'")

    # -- the ops -----------------------------------------------------------------------------------------------
    def _write_if(self, op: Operation, node: Any) -> None:
        hint = op.name.replace("/", "_")
        node.op = "If" if _stateful(self.branch(op, "then_branch"), self.branch(op, "else_branch")) else "StatelessIf"
        node.attr["Tcond"].type = op.inputs[0].dtype.base_dtype.enum
        write_types(node, "Tin", op.inputs[1:])
        write_types(node, "Tout", op.outputs)
        node.attr["then_branch"].func.name = self.function(self.branch(op, "then_branch"), op.attrs["then_branch"],
                                                           f"{hint}_true")
        node.attr["else_branch"].func.name = self.function(self.branch(op, "else_branch"), op.attrs["else_branch"],
                                                           f"{hint}_false")
        write_shapes(node, op.attrs["output_shapes"])
        node.attr["_lower_using_switch_merge"].CopyFrom(LOWER_USING_SWITCH_MERGE)
        node.attr["_read_only_resource_inputs"].CopyFrom(NO_RESOURCE_INPUTS)

    def _write_while(self, op: Operation, node: Any) -> None:
        # TF's While carries every input as a loop variable: the body returns the captured ones unchanged.
        hint = op.name.replace("/", "_")
        captured = len(op.inputs) - op.attrs["num_loop_vars"]
        write_while(node, op.inputs,
                    self.function(self.branch(op, "cond"), op.attrs["cond"], f"{hint}_cond"),
                    self.function(self.branch(op, "body"), (op.attrs["body"], captured), f"{hint}_body", captured),
                    op.attrs["output_shapes"])
        if _stateful(self.branch(op, "cond"), self.branch(op, "body")):
            node.op = "While"
