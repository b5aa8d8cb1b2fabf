"""``tf.cond`` and ``tf.while_loop`` as functional ops (``If``, ``While``), and the gradient of ``If``.

The branch and loop functions are traced once into graphs of their own (``function_graph``); the op holds them as
tokens and runs only what its predicate picks. ``If``'s gradient is another ``If`` on the same predicate whose
branches are the gradients of each branch graph (traced with ``tf.gradients`` inside it), so second derivatives
follow the same rule; a branch with side effects or random draws makes the ``If`` also output the values its
gradient would otherwise recompute (a dropout mask, a value read before an assign), which the gradient is fed
instead. ``While``'s gradient is a ``WhileGrad`` op that reruns the loop and applies the gradient graph
of its body to each iteration's loop variables, last iteration first.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import dtypes as _dtypes
from .data.structure import flatten, lists_to_tuples, pack_as, same_structure
from .function_graph import Branch, _host_device_name, lookup, trace
from .gradients import gradients, is_differentiable_dtype
from .graph import Operation, Tensor, get_default_graph
from .op_builder import apply_op, convert_to_tensor
from .ops import control_flow_ops  # noqa: F401 - defines If and While
from .ops.base_array_ops import identity, placeholder, stop_gradient, zeros_like
from .ops.common import gradient
from .ops.math_ops import add, less, logical_and
from .shapes import TensorShape, as_shape


def _common_shape(a: TensorShape, b: TensorShape) -> TensorShape:
    # The most specific shape both branches' outputs have: equal dimensions stay, others become unknown.
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


def _external(*branches: Branch) -> list:
    found: dict = {}
    for branch in branches:
        found.update(dict.fromkeys(branch.graph.captures))
    return list(found)


def _base(t: Tensor) -> Any:
    return t.dtype.base_dtype


def cond(pred: Any, true_fn: Callable | None = None, false_fn: Callable | None = None, strict: bool = False,
         name: str | None = None, fn1: Callable | None = None, fn2: Callable | None = None) -> Any:
    """``true_fn()`` when the scalar bool ``pred`` is true, else ``false_fn()``: only the chosen one runs.

    Both functions must return the same structure of tensors with the same dtypes; a one-element list or tuple
    comes back unpacked unless ``strict``. Tensors of the enclosing graph they use become inputs of the ``If`` op.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> x = tf.placeholder(tf.float32, [])
        >>> y = tf.cond(x > 0, lambda: x * 2.0, lambda: -x)
        >>> sess = tf.Session()
        >>> float(sess.run(y, {x: 3.0})), float(sess.run(y, {x: -4.0}))
        (6.0, 4.0)
    """
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError(f"tf.cond: true_fn and false_fn must be callable, got {true_fn!r} and {false_fn!r}")
    with get_default_graph().name_scope(name or "cond"):
        pred = convert_to_tensor(pred)
        if _base(pred) != _dtypes.bool_ or pred.shape.rank not in (None, 0):
            raise ValueError(f"tf.cond: pred must be a scalar bool tensor, got {pred.dtype.name}{pred.shape}")
        then_b = trace(lambda: true_fn(), [], "tf.cond true_fn")
        else_b = trace(lambda: false_fn(), [], "tf.cond false_fn")
        if not same_structure(then_b.structure, else_b.structure) or \
                [_base(t) for t in then_b.outputs] != [_base(t) for t in else_b.outputs]:
            raise ValueError("tf.cond: true_fn and false_fn must return the same structure and dtypes, got "
                             f"{then_b.structure} and {else_b.structure}")
        _save_for_gradient(then_b, else_b)
        external = _external(then_b, else_b)
        then_b.bind(external)
        else_b.bind(external)
        outs = apply_op("If", pred, external, Tin=[_base(t) for t in external],
                        Tout=[_base(t) for t in then_b.outputs], then_branch=then_b.register(),
                        else_branch=else_b.register(),
                        output_shapes=[_common_shape(a.shape, b.shape) for a, b in zip(then_b.outputs, else_b.outputs)],
                        name="If")
    result = pack_as(then_b.structure, outs[:then_b.saved_at])
    if not strict and isinstance(result, (list, tuple)) and len(result) == 1:
        return result[0]
    return result


def case(pred_fn_pairs: Any, default: Callable | None = None, exclusive: bool = False, strict: bool = False,
         name: str = "case") -> Any:
    """The result of the function paired with the first true predicate, else of ``default``.

    ``pred_fn_pairs`` is a list of ``(scalar bool tensor, callable)`` pairs (or a dict, in its order). Without a
    ``default``, the last pair's function runs when no predicate is true and the run fails when even its own is
    false, as in TF. With ``exclusive``, the run fails when more than one predicate is true. Only the chosen
    function runs; all must return the same structure and dtypes.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> x = tf.placeholder(tf.int32, [])
        >>> y = tf.case([(x < 0, lambda: tf.constant(-1)), (x > 0, lambda: tf.constant(1))], default=lambda: x)
        >>> sess = tf.Session()
        >>> [int(sess.run(y, {x: v})) for v in (-5, 0, 7)]
        [-1, 0, 1]
    """
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2 or not callable(pair[1]):
            raise TypeError(f"tf.case: pred_fn_pairs must hold (predicate, callable) pairs, got {pair!r}")
    if not pairs and default is None:
        raise ValueError("tf.case: pred_fn_pairs is empty and no default is given")
    if default is not None and not callable(default):
        raise TypeError(f"tf.case: default must be callable, got {default!r}")
    from .check_ops import Assert
    from .ops.array_ops import stack
    from .ops.math_ops import cast, reduce_any, reduce_sum

    with get_default_graph().name_scope(name):
        preds = [convert_to_tensor(p) for p, _ in pairs]
        checks = []
        if default is None:
            checks.append(Assert(reduce_any(stack(preds)), ["Input error: None of conditions evaluated as True:",
                                                            stack(preds)], summarize=len(preds)))
            default = pairs.pop()[1]
        if exclusive and len(preds) > 1:
            count = reduce_sum(cast(stack(preds), _dtypes.int32))
            checks.append(Assert(count <= 1, ["Input error: More than one condition evaluated as True:", stack(preds)],
                                 summarize=len(preds)))

        def chain(k: int) -> Callable:
            if k == len(pairs):
                return default
            return lambda: cond(pairs[k][0], pairs[k][1], chain(k + 1), strict=strict)

        with get_default_graph().control_dependencies(checks):
            return chain(0)()


def _saved_values(branch: Branch) -> list:
    # What a gradient of a function with side effects must not recompute: every output of a stateful op and of
    # an op downstream of one (data or control), in creation order, which is an order the ops can run in.
    if not branch.effects():
        return []
    tainted: set = set()
    saved = []
    for op in branch.graph.get_operations():
        if op.op_def.stateful or any(t.op in tainted for t in op.inputs) or any(c in tainted for c in op.control_inputs):
            tainted.add(op)
            saved.extend(t for t in op.outputs if not getattr(t, "_is_ref", False) and _base(t) not in _HANDLES)
    return saved


_HANDLES = (_dtypes.string, _dtypes.resource, _dtypes.variant)


def _save_for_gradient(then_b: Branch, else_b: Branch) -> None:
    """Make both branches also output what a stateful branch's gradient needs from its forward run (TF's ``If``
    outputs its branches' intermediates for its gradient too): ``then_b``'s values, then ``else_b``'s, each branch
    returning empty arrays in the other's places. Rerunning a branch would draw a new dropout mask, or assign twice."""
    then_s, else_s = _saved_values(then_b), _saved_values(else_b)
    if not then_s and not else_s:
        return
    start = len(then_b.outputs)
    for branch, before, mine, after in ((then_b, [], then_s, else_s), (else_b, then_s, else_s, [])):
        graph = branch.graph
        with graph.as_default(), graph.device(_host_device_name()), graph.control_dependencies(None):
            empties = [[convert_to_tensor(np.zeros([0], _base(t).np_dtype)) for t in part] for part in (before, after)]
        branch.outputs = branch.outputs + empties[0] + mine + empties[1]
        branch.saved = [None] * len(before) + mine + [None] * len(after)
        branch.saved_at = start


def _effects_run(branch: Branch) -> list:
    # The side effects that computing the branch's outputs from its inputs runs (none where they are fed).
    effects = set(branch.effects())
    return [op for op in branch.needed_ops() if op in effects]


def _gradient_branch(branch: Branch, diff_in: list, diff_out: list, extras: tuple = ()) -> Branch:
    # ``extras`` are the op's outputs holding ``branch.saved``: fed to the gradient, they stand for the forward
    # values, so no stateful op of the branch runs again.
    graph = branch.graph
    with graph.as_default(), graph.device(_host_device_name()):
        dys = [placeholder(_base(branch.outputs[j]), branch.outputs[j].shape, name="dy") for j in diff_out]
        feeds = [s if s is not None else placeholder(_base(t), None, name="unused")
                 for s, t in zip(branch.saved or [None] * len(extras), extras)]
        xs = [branch.inputs[i] for i in diff_in]
        grads = gradients([branch.outputs[j] for j in diff_out], xs, grad_ys=dys)
        outs = []
        for x, g in zip(xs, grads):
            g = zeros_like(x) if g is None else convert_to_tensor(g)
            fed = g.op.type == "Placeholder" or any(g is f for f in feeds)
            outs.append(identity(g) if fed else g)
    return Branch(graph, list(branch.inputs) + dys + feeds, outs)


@gradient("If")
def _if_grad(op: Operation, *dys: Any) -> list:
    # The gradient picks the branch the forward run picked: an If on the same predicate over both branches'
    # gradient graphs, fed the forward inputs and the output gradients.
    inputs = list(op.inputs[1:])
    where = f"gradient of op '{op.name}' (If)"
    then_f, else_f = lookup(op.attrs["then_branch"], where), lookup(op.attrs["else_branch"], where)
    extras = tuple(op.outputs[then_f.saved_at:])
    diff_in = [i for i, t in enumerate(inputs) if is_differentiable_dtype(t)]
    diff_out = [j for j, t in enumerate(op.outputs[:then_f.saved_at]) if is_differentiable_dtype(t)]
    result: list = [None] * len(op.inputs)
    if not diff_in or not diff_out:
        return result
    stateful = None if extras else next(iter(_effects_run(then_f) + _effects_run(else_f)), None)
    if stateful is not None:
        raise ValueError(f"{where}: a branch has stateful op '{stateful.name}' ({stateful.type}) and the If keeps no "
                         "forward values for its gradient (an If imported from a GraphDef), so its gradient would "
                         "rerun it; differentiate it where it is built (TF's own gradients import)")
    then_g = _gradient_branch(then_f, diff_in, diff_out, extras)
    else_g = _gradient_branch(else_f, diff_in, diff_out, extras)
    fed = inputs + [dys[j] for j in diff_out] + list(extras)
    grads = apply_op("If", op.inputs[0], fed, Tin=[_base(t) for t in fed], Tout=[_base(inputs[i]) for i in diff_in],
                     then_branch=then_g.register(), else_branch=else_g.register(),
                     output_shapes=[_common_shape(a.shape, b.shape) for a, b in zip(then_g.outputs, else_g.outputs)],
                     name="If")
    for k, i in enumerate(diff_in):
        result[1 + i] = grads[k]
    return result


def refuse_rerun(branches: list, where: str) -> None:
    """Refuse to differentiate a loop whose functions have side effects or random draws: its gradient reruns it,
    so they would happen twice, or draw other numbers than the forward run."""
    for branch in branches:
        effects = branch.effects()
        if effects:
            raise ValueError(f"{where}: the function '{branch.graph.what}' has stateful op '{effects[0].name}' "
                             f"({effects[0].type}); the gradient reruns the loop, so it cannot differentiate a loop "
                             "with side effects or random draws yet (draw the random values outside the loop)")


@gradient("While")
def _while_grad(op: Operation, *dys: Any) -> list:
    # One WhileGrad op: it reruns the loop, then applies the body's gradient graph (traced once, with
    # tf.gradients inside the body's graph) to each iteration's loop variables in reverse order.
    n = op.attrs["num_loop_vars"]
    inputs = list(op.inputs)
    grad_vars = [i for i in range(n) if is_differentiable_dtype(inputs[i])]
    grad_captured = [i for i in range(n, len(inputs)) if is_differentiable_dtype(inputs[i])]
    result: list = [None] * len(inputs)
    if not grad_vars and not grad_captured:
        return result
    where = f"gradient of op '{op.name}' (While)"
    body = lookup(op.attrs["body"], where)
    refuse_rerun([body, lookup(op.attrs["cond"], where)], where)
    body_grad = _gradient_branch(body, grad_vars + grad_captured, grad_vars)
    wanted = grad_vars + grad_captured
    fed_dys = [dys[i] for i in wanted]
    grads = apply_op("WhileGrad", inputs, fed_dys, T=[_base(t) for t in inputs], Tdy=[_base(t) for t in fed_dys],
                     Tgrad=[_base(inputs[i]) for i in wanted], cond=op.attrs["cond"], body=op.attrs["body"],
                     body_grad=body_grad.register(), num_loop_vars=n, num_grad_loop_vars=len(grad_vars),
                     output_shapes=[op.attrs["output_shapes"][i] for i in wanted], name="WhileGrad")
    for k, i in enumerate(wanted):
        result[i] = grads[k]
    return result


def while_loop(cond: Callable, body: Callable, loop_vars: Any, shape_invariants: Any = None,
               parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False,
               name: str | None = None, maximum_iterations: Any = None, return_same_structure: bool = False) -> Any:
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` is true (at most
    ``maximum_iterations`` times); returns the final loop variables, in their structure.

    ``body`` must keep each variable's dtype, and its shape within ``shape_invariants`` (default: the initial
    shapes). ``parallel_iterations`` and ``swap_memory`` have no effect here: the loop runs one iteration after the
    other on the host. Gradients flow through the loop to the initial loop variables and to the tensors the
    functions capture (unless ``back_prop`` is false); the backward pass reruns the loop and keeps every iteration's
    variables, so its memory grows with the iteration count, as TF's does.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> i, total = tf.while_loop(lambda i, t: i < 4, lambda i, t: (i + 1, t + i), (0, 0))
        >>> [int(v) for v in tf.Session().run([i, total])]
        [4, 6]
    """
    if not callable(cond) or not callable(body):
        raise TypeError(f"tf.while_loop: cond and body must be callable, got {cond!r} and {body!r}")
    with get_default_graph().name_scope(name or "while"):
        structure = lists_to_tuples(loop_vars)
        flat = [convert_to_tensor(v) for v in flatten(structure)]
        if shape_invariants is None:
            invariants = [t.shape for t in flat]
        else:
            invariants = [as_shape(s) for s in flatten(lists_to_tuples(shape_invariants))]
            if len(invariants) != len(flat):
                raise ValueError(f"tf.while_loop: {len(invariants)} shape_invariants for {len(flat)} loop variables")
        for t, s in zip(flat, invariants):
            if not s.is_compatible_with(t.shape):
                raise ValueError(f"tf.while_loop: loop variable '{t.name}' has shape {t.shape}, which is not "
                                 f"compatible with its shape invariant {s}")
        counted = maximum_iterations is not None
        if counted:
            limit = convert_to_tensor(maximum_iterations, dtype=_dtypes.int32)
            flat = [convert_to_tensor(0, dtype=_dtypes.int32)] + flat
            invariants = [TensorShape([])] + invariants

        def run_cond(*args: Tensor) -> Tensor:
            vars_ = args[1:] if counted else args
            test = convert_to_tensor(_call(cond, pack_as(structure, list(vars_))))
            if _base(test) != _dtypes.bool_ or test.shape.rank not in (None, 0):
                raise ValueError(f"tf.while_loop: cond must return a scalar bool tensor, got "
                                 f"{test.dtype.name}{test.shape}")
            return logical_and(less(args[0], limit), test) if counted else test

        def run_body(*args: Tensor) -> list:
            vars_ = args[1:] if counted else args
            result = lists_to_tuples(_call(body, pack_as(structure, list(vars_))))
            if not same_structure(structure, result) and not (len(vars_) == 1 and not isinstance(result, tuple)):
                raise ValueError(f"tf.while_loop: body must return the structure of loop_vars {structure}, got "
                                 f"{result}")
            outs = [convert_to_tensor(r) for r in flatten(result)]
            return ([add(args[0], 1)] if counted else []) + outs

        args = [(_base(t), s) for t, s in zip(flat, invariants)]
        cond_b = trace(run_cond, args, "tf.while_loop cond")
        body_b = trace(run_body, args, "tf.while_loop body")
        for t, out, s in zip(flat, body_b.outputs, invariants):
            if _base(out) != _base(t) or not s.is_compatible_with(out.shape):
                raise ValueError(f"tf.while_loop: body turns loop variable '{t.name}' ({t.dtype.name}, invariant "
                                 f"{s}) into {out.dtype.name}{out.shape}; keep its dtype, or pass a looser "
                                 "shape_invariants")
        external = _external(cond_b, body_b)
        cond_b.bind(external)
        body_b.bind(external)
        fed = flat + external
        outs = apply_op("While", fed, T=[_base(t) for t in fed], cond=cond_b.register(), body=body_b.register(),
                        num_loop_vars=len(flat), output_shapes=invariants + [t.shape for t in external],
                        name="While")[:len(flat)]
        if counted:
            outs = outs[1:]
        if not back_prop:
            outs = [stop_gradient(t) for t in outs]
    result = pack_as(structure, outs)
    if not return_same_structure and isinstance(result, tuple) and len(result) == 1:
        return result[0]
    return result


def _call(fn: Callable, packed: Any) -> Any:
    # TF spreads the loop variables over the functions' arguments.
    return fn(*packed) if isinstance(packed, tuple) and not hasattr(packed, "_fields") else fn(packed)
