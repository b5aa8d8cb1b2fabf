"""``tf.map_fn``, ``tf.scan``, ``tf.foldl`` and ``tf.foldr`` on one functional op, ``Scan``, and its gradient.

``Scan`` applies a traced body to carried values and to one slice (along the first dimension) of each sliced input
per step, and stacks what the body emits per step, as JAX's ``lax.scan`` does. Slicing and stacking in the kernel
keep a loop over n elements at O(n) copies; building the same on ``tf.while_loop`` would copy a growing
accumulator every step.

The gradient of a ``Scan`` is two more ``Scan`` ops: one reruns the steps and also stacks the carries each step
entered with; the other walks the steps in the opposite order through the body's gradient graph, carrying the
carries' gradients and summing the captured tensors' ones, and stacking the sliced inputs' ones. Second
derivatives therefore follow the same rule.
"""

from __future__ import annotations

from typing import Any, Callable

from .control_flow import _external, _gradient_branch, refuse_rerun
from .data.structure import flatten, lists_to_tuples, pack_as, same_structure
from .function_graph import Branch, _host_device_name, lookup, trace
from .gradients import is_differentiable_dtype
from .graph import Operation, Tensor, get_default_graph
from .op_builder import apply_op, convert_to_tensor
from .ops import control_flow_ops  # noqa: F401 - defines Scan
from .ops.base_array_ops import identity, placeholder, stop_gradient, zeros_like
from .ops.common import gradient
from .ops.math_ops import add
from .ops.shape_ops import expand_dims
from .ops.slice_ops import concat
from .shapes import TensorShape


def _base(t: Tensor) -> Any:
    return t.dtype.base_dtype


def _stacked_shape(length: int | None, shape: TensorShape) -> TensorShape:
    return TensorShape(None) if shape.rank is None else TensorShape([length] + shape.as_list())


def _length(xs: list, what: str) -> int | None:
    lengths = set()
    for x in xs:
        if x.shape.rank == 0:
            raise ValueError(f"{what}: elements must have at least one dimension to be unstacked along, got "
                             f"'{x.name}' of shape {x.shape}")
        if x.shape.rank is not None and x.shape.as_list()[0] is not None:
            lengths.add(x.shape.as_list()[0])
    if len(lengths) > 1:
        raise ValueError(f"{what}: all elements must have the same first dimension, got {sorted(lengths)}")
    return lengths.pop() if lengths else None


def scan_op(step: Callable, carry: list, xs: list, reverse: bool, what: str) -> tuple[list, list]:
    """Run ``step(carry, x_slices) -> (new_carry, ys)`` over the first dimension of every tensor in ``xs``.

    Returns the last carry and each of ``ys`` stacked over the steps (in the order of ``xs``, also when
    ``reverse`` runs the steps last to first). The carry keeps its dtypes and shapes.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> (total,), (partial,) = scan_op(lambda c, x: ([c[0] + x[0]], [c[0] + x[0]]),
        ...                                [tf.constant(0)], [tf.constant([1, 2, 3])], False, "example")
        >>> [v.tolist() for v in tf.Session().run([total, partial])]
        [6, [1, 3, 6]]
    """
    carry = [convert_to_tensor(c) for c in carry]
    xs = [convert_to_tensor(x) for x in xs]
    if not xs:
        raise ValueError(f"{what}: needs at least one tensor to iterate over")
    length = _length(xs, what)
    num_carry = len(carry)

    def body(*args: Tensor) -> list:
        new_carry, ys = step(list(args[:num_carry]), list(args[num_carry:]))
        return [convert_to_tensor(v) for v in new_carry] + [convert_to_tensor(v) for v in ys]

    args = [(_base(c), c.shape) for c in carry] + [(_base(x), TensorShape(x.shape.as_list()[1:])
                                                     if x.shape.rank is not None else TensorShape(None)) for x in xs]
    traced = trace(body, args, what)
    for c, out in zip(carry, traced.outputs):
        if _base(out) != _base(c) or not c.shape.is_compatible_with(out.shape):
            raise ValueError(f"{what}: the function turns the accumulator '{c.name}' ({c.dtype.name}{c.shape}) into "
                             f"{out.dtype.name}{out.shape}; it must keep the accumulator's dtype and shape")
    external = _external(traced)
    traced.bind(external)
    fed = carry + xs + external
    ys = traced.outputs[num_carry:]
    outs = apply_op("Scan", fed, T=[_base(t) for t in fed], Tout=[_base(t) for t in traced.outputs],
                    body=traced.register(), num_carry=num_carry, num_sliced=len(xs), reverse=reverse,
                    output_shapes=[c.shape for c in carry] + [_stacked_shape(length, y.shape) for y in ys],
                    name="Scan")
    return list(outs[:num_carry]), list(outs[num_carry:])


@gradient("Scan")
def _scan_grad(op: Operation, *dys: Any) -> list:
    num_carry, num_sliced = op.attrs["num_carry"], op.attrs["num_sliced"]
    inputs = list(op.inputs)
    carry, xs, captured = inputs[:num_carry], inputs[num_carry:num_carry + num_sliced], inputs[num_carry + num_sliced:]
    diff_c = [i for i, t in enumerate(carry) if is_differentiable_dtype(t)]
    diff_x = [i for i, t in enumerate(xs) if is_differentiable_dtype(t)]
    diff_cap = [i for i, t in enumerate(captured) if is_differentiable_dtype(t)]
    diff_y = [j for j, t in enumerate(op.outputs[num_carry:]) if is_differentiable_dtype(t)]
    result: list = [None] * len(inputs)
    if not (diff_c or diff_x or diff_cap) or not (diff_c or diff_y):
        return result
    body = lookup(op.attrs["body"], f"gradient of op '{op.name}' (Scan)")
    refuse_rerun([body], f"gradient of op '{op.name}' (Scan)")
    graph = body.graph
    reverse = op.attrs["reverse"]
    length = _length(xs, f"gradient of op '{op.name}' (Scan)")

    # The carries each step entered with, stacked by a second forward Scan over the same body.
    with graph.as_default(), graph.device(_host_device_name()):
        entered = [identity(p) for p in body.inputs[:num_carry]]
    stacking = Branch(graph, list(body.inputs), list(body.outputs) + entered)
    forward = apply_op("Scan", inputs, T=list(op.attrs["T"]), Tout=list(op.attrs["Tout"]) + [_base(c) for c in carry],
                       body=stacking.register(), num_carry=num_carry, num_sliced=num_sliced, reverse=reverse,
                       output_shapes=list(op.attrs["output_shapes"]) + [_stacked_shape(length, c.shape) for c in carry],
                       name="Scan")
    carries_in = list(forward[len(op.outputs):])

    # The backward body: carries the carries' gradients and the captured tensors' running sums; slices the
    # entered carries, the inputs and the outputs' gradients; stacks the sliced inputs' gradients.
    grads = _gradient_branch(body, diff_c + [num_carry + i for i in diff_x] +
                             [num_carry + num_sliced + k for k in diff_cap], diff_c + [num_carry + j for j in diff_y])
    n_body, n_dc, n_dx = len(body.inputs), len(diff_c), len(diff_x)
    with graph.as_default(), graph.device(_host_device_name()):
        sums = [placeholder(_base(captured[k]), captured[k].shape, name="captured_grad_sum") for k in diff_cap]
        summed = [add(s, g) for s, g in zip(sums, grads.outputs[n_dc + n_dx:])]
    dy_carry, dy_ys = grads.inputs[n_body:n_body + n_dc], grads.inputs[n_body + n_dc:]
    backward = Branch(graph, dy_carry + sums + list(body.inputs[:num_carry + num_sliced]) + dy_ys +
                      list(body.inputs[num_carry + num_sliced:]),
                      grads.outputs[:n_dc] + summed + grads.outputs[n_dc:n_dc + n_dx])
    init = [dys[i] for i in diff_c] + [zeros_like(captured[k]) for k in diff_cap]
    sliced = carries_in + xs + [dys[num_carry + j] for j in diff_y]
    fed = init + sliced + captured
    outs = apply_op("Scan", fed, T=[_base(t) for t in fed], Tout=[_base(t) for t in backward.outputs],
                    body=backward.register(), num_carry=len(init), num_sliced=len(sliced), reverse=not reverse,
                    output_shapes=[t.shape for t in init] + [_stacked_shape(length, xs[i].shape[1:] if xs[i].shape.rank
                                                                            else TensorShape(None)) for i in diff_x],
                    name="Scan")
    for k, i in enumerate(diff_c):
        result[i] = outs[k]
    for k, i in enumerate(diff_cap):
        result[num_carry + num_sliced + i] = outs[n_dc + k]
    for k, i in enumerate(diff_x):
        result[num_carry + i] = outs[n_dc + len(diff_cap) + k]
    return result


def map_fn(fn: Callable, elems: Any, dtype: Any = None, parallel_iterations: int | None = None, back_prop: bool = True,
           swap_memory: bool = False, infer_shape: bool = True, name: str | None = None) -> Any:
    """Apply ``fn`` to each slice of ``elems`` along its first dimension and stack the results.

    ``elems`` may be a nested structure of tensors with equal first dimensions; ``fn`` gets one slice of each, in
    that structure. ``dtype`` is accepted as TF's (the results' dtypes come from ``fn`` itself here).
    ``parallel_iterations`` and ``swap_memory`` have no effect: the steps run one after the other on the host.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> squares = tf.map_fn(lambda x: x * x, tf.constant([1.0, 2.0, 3.0]))
        >>> tf.Session().run(squares).tolist()
        [1.0, 4.0, 9.0]
    """
    del dtype, parallel_iterations, swap_memory, infer_shape
    structure = lists_to_tuples(elems)
    flat = flatten(structure)
    results: list = []

    def step(carry: list, slices: list) -> tuple[list, list]:
        out = lists_to_tuples(fn(pack_as(structure, slices)))
        results.append(out)
        return [], flatten(out)

    with get_default_graph().name_scope(name or "map"):
        _, stacked = scan_op(step, [], flat, False, "tf.map_fn")
        if not back_prop:
            stacked = [stop_gradient(t) for t in stacked]
    return pack_as(results[0], stacked)


def scan(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
         swap_memory: bool = False, infer_shape: bool = True, reverse: bool = False, name: str | None = None) -> Any:
    """The running results of ``acc = fn(acc, x)`` over the slices ``x`` of ``elems``, stacked.

    Without an ``initializer`` the first slice of ``elems`` is the first accumulator (and the first result).
    ``reverse`` runs from the last slice to the first; results stay in the order of ``elems``.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.Session().run(tf.scan(lambda a, x: a + x, tf.constant([1, 2, 3, 4]))).tolist()
        [1, 3, 6, 10]
    """
    del parallel_iterations, swap_memory, infer_shape
    with get_default_graph().name_scope(name or "scan"):
        acc, flat, structure, first = _accumulator(elems, initializer, reverse, "tf.scan")
        acc_structure = lists_to_tuples(initializer) if initializer is not None else structure

        def step(carry: list, slices: list) -> tuple[list, list]:
            out = _fn_result(fn, acc_structure, carry, structure, slices, "tf.scan")
            return out, out

        _, stacked = scan_op(step, acc, flat, reverse, "tf.scan")
        if first is not None:
            stacked = [concat([f, s], 0) if not reverse else concat([s, f], 0) for f, s in zip(first, stacked)]
        if not back_prop:
            stacked = [stop_gradient(t) for t in stacked]
    return pack_as(acc_structure, stacked)


def foldl(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
          swap_memory: bool = False, name: str | None = None) -> Any:
    """The last accumulator of ``acc = fn(acc, x)`` over the slices ``x`` of ``elems``, first to last.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> int(tf.Session().run(tf.foldl(lambda a, x: a * 10 + x, tf.constant([1, 2, 3]))))
        123
    """
    return _fold(fn, elems, initializer, back_prop, False, name or "foldl", "tf.foldl")


def foldr(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
          swap_memory: bool = False, name: str | None = None) -> Any:
    """The last accumulator of ``acc = fn(acc, x)`` over the slices ``x`` of ``elems``, last to first.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> int(tf.Session().run(tf.foldr(lambda a, x: a * 10 + x, tf.constant([1, 2, 3]))))
        321
    """
    return _fold(fn, elems, initializer, back_prop, True, name or "foldr", "tf.foldr")


def _fold(fn: Callable, elems: Any, initializer: Any, back_prop: bool, reverse: bool, scope: str, what: str) -> Any:
    with get_default_graph().name_scope(scope):
        acc, flat, structure, _ = _accumulator(elems, initializer, reverse, what)
        acc_structure = lists_to_tuples(initializer) if initializer is not None else structure

        def step(carry: list, slices: list) -> tuple[list, list]:
            return _fn_result(fn, acc_structure, carry, structure, slices, what), []

        final, _ = scan_op(step, acc, flat, reverse, what)
        if not back_prop:
            final = [stop_gradient(t) for t in final]
    return pack_as(acc_structure, final)


def _accumulator(elems: Any, initializer: Any, reverse: bool, what: str) -> tuple[list, list, Any, list | None]:
    """The first accumulator, the tensors to slice, their structure, and (without an initializer) the slice
    that became the accumulator, with a leading dimension of one, for ``scan``'s results."""
    structure = lists_to_tuples(elems)
    flat = [convert_to_tensor(e) for e in flatten(structure)]
    if initializer is not None:
        return [convert_to_tensor(v) for v in flatten(lists_to_tuples(initializer))], flat, structure, None
    for t in flat:
        if t.shape.rank is not None and t.shape.as_list()[:1] == [0]:
            raise ValueError(f"{what}: elems '{t.name}' is empty and no initializer is given")
    first = [t[-1] if reverse else t[0] for t in flat]
    rest = [t[:-1] if reverse else t[1:] for t in flat]
    return first, rest, structure, [expand_dims(f, 0) for f in first]


def _fn_result(fn: Callable, acc_structure: Any, carry: list, structure: Any, slices: list, what: str) -> list:
    out = lists_to_tuples(fn(pack_as(acc_structure, carry), pack_as(structure, slices)))
    if not same_structure(acc_structure, out) and not (len(carry) == 1 and not isinstance(out, tuple)):
        raise ValueError(f"{what}: fn must return the accumulator's structure {acc_structure}, got {out}")
    return flatten(out)
