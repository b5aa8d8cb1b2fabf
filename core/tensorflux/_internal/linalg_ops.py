"""``einsum``, ``norm`` and ``nn.l2_normalize``, composed from transpose, reshape, matmul and reductions.

Being compositions, they run on every device and their gradients are those of the ops they are made of.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .graph import Tensor, get_default_graph
from .op_builder import convert_to_tensor
from .ops import array_ops, math_ops, svd_ops
from .ops.grad_util import _as_shape_arg, _prod_dims

_SUBSCRIPT_RE = re.compile(r"^[A-Za-z.]*$")
# Labels for the dimensions an ellipsis stands for: outside the letters an equation may use.
_ELLIPSIS_LABEL_BASE = 0x100


def _ellipsis_labels(count: int) -> str:
    # Right-aligned, as broadcasting aligns shapes: the last ellipsis dimension always gets the same label.
    return "".join(chr(_ELLIPSIS_LABEL_BASE + count - 1 - i) for i in range(count))


def _expand_ellipsis(spec: str, rank: int | None, equation: str) -> str:
    if "..." not in spec:
        if rank is not None and rank != len(spec):
            raise ValueError(f"einsum '{equation}': subscript '{spec}' has {len(spec)} indices but its operand has "
                             f"rank {rank}")
        return spec
    if rank is None:
        raise ValueError(f"einsum '{equation}': an operand with '...' needs a known rank")
    explicit = len(spec) - 3
    if rank < explicit:
        raise ValueError(f"einsum '{equation}': subscript '{spec}' needs rank >= {explicit}, got {rank}")
    return spec.replace("...", _ellipsis_labels(rank - explicit))


def _parse(equation: str, tensors: list[Tensor]) -> tuple[list[str], str]:
    text = equation.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(tensors):
        raise ValueError(f"einsum '{equation}': {len(specs)} input subscripts but {len(tensors)} operands")
    for spec in specs + ([rhs] if arrow else []):
        if not _SUBSCRIPT_RE.match(spec) or spec.replace("...", "").count(".") or spec.count("...") > 1:
            raise ValueError(f"einsum '{equation}': invalid subscript '{spec}'; use letters and at most one '...'")
    specs = [_expand_ellipsis(s, t.shape.rank, equation) for s, t in zip(specs, tensors)]
    widest = max((sum(ord(c) >= _ELLIPSIS_LABEL_BASE for c in s) for s in specs), default=0)
    if arrow:
        out = rhs.replace("...", _ellipsis_labels(widest))
    else:
        letters = "".join(specs)
        out = _ellipsis_labels(widest) + "".join(sorted(c for c in set(letters) if c.isascii()
                                                        and letters.count(c) == 1))
    known = set("".join(specs))
    for c in out:
        if c not in known:
            raise ValueError(f"einsum '{equation}': output index '{c}' appears in no input")
        if out.count(c) > 1:
            raise ValueError(f"einsum '{equation}': output index '{c}' appears more than once")
    return specs, out


def _dims(t: Tensor, axes: list[int]) -> list:
    """The sizes of ``axes`` of ``t``: Python ints where static, scalar int32 tensors otherwise."""
    static = t.shape.as_list() if t.shape.rank is not None else None
    dynamic = None
    out = []
    for axis in axes:
        if static is not None and static[axis] is not None:
            out.append(static[axis])
        else:
            dynamic = array_ops.shape(t) if dynamic is None else dynamic
            out.append(array_ops.strided_slice(dynamic, [axis], [axis + 1], shrink_axis_mask=1))
    return out


def _take_diagonals(t: Tensor, spec: str, equation: str) -> tuple[Tensor, str]:
    """``t`` with each index repeated in ``spec`` reduced to its diagonal (``'ii' -> 'i'``, ``'iji' -> 'ij'``).

    The diagonal is the entries where the repeated axes agree: the tensor is masked by an identity matrix over two
    of them and summed over the second, so its gradient (mask, then broadcast) needs no op of its own.
    """
    while True:
        repeated = next((c for c in spec if spec.count(c) > 1), None)
        if repeated is None:
            return t, spec
        first = spec.index(repeated)
        second = spec.index(repeated, first + 1)
        n1, n2 = _dims(t, [first, second])
        if isinstance(n1, int) and isinstance(n2, int):
            if n1 != n2:
                raise ValueError(f"einsum '{equation}': index '{repeated}' labels dimensions of sizes {n1} and {n2} "
                                 f"in one operand ('{spec}'); a repeated index needs equal sizes")
            mask: Any = np.eye(n1, dtype=t.dtype.np_dtype)
        else:
            n = n1 if not isinstance(n1, int) else n2
            positions = array_ops.range(0, n)
            mask = math_ops.cast(math_ops.equal(array_ops.expand_dims(positions, 1),
                                                array_ops.expand_dims(positions, 0)), t.dtype)
        mask_shape: list = [1] * len(spec)
        mask_shape[first] = mask_shape[second] = n1 if isinstance(mask, np.ndarray) else n
        if isinstance(mask, np.ndarray):
            mask = mask.reshape(mask_shape)
        else:
            mask = array_ops.reshape(mask, _as_shape_arg(mask_shape))
        t = math_ops.reduce_sum(math_ops.multiply(t, mask), [second])
        spec = spec[:second] + spec[second + 1:]


def _reduce_unneeded(t: Tensor, spec: str, keep: set) -> tuple[Tensor, str]:
    axes = [i for i, c in enumerate(spec) if c not in keep]
    if not axes:
        return t, spec
    return math_ops.reduce_sum(t, axes), "".join(c for c in spec if c in keep)


def _transpose_to(t: Tensor, spec: str, order: str) -> Tensor:
    perm = [spec.index(c) for c in order]
    return t if perm == sorted(perm) else array_ops.transpose(t, perm)


def _contract_pair(a: Tensor, a_spec: str, b: Tensor, b_spec: str, needed: set) -> tuple[Tensor, str]:
    a, a_spec = _reduce_unneeded(a, a_spec, needed | set(b_spec))
    b, b_spec = _reduce_unneeded(b, b_spec, needed | set(a_spec))
    batch = [c for c in a_spec if c in b_spec and c in needed]
    contract = [c for c in a_spec if c in b_spec and c not in needed]
    a_free = [c for c in a_spec if c not in b_spec]
    b_free = [c for c in b_spec if c not in a_spec]
    a = _transpose_to(a, a_spec, "".join(batch + a_free + contract))
    b = _transpose_to(b, b_spec, "".join(batch + contract + b_free))
    nb = len(batch)
    a_batch, a_free_dims, contract_dims = (_dims(a, list(range(nb))), _dims(a, list(range(nb, nb + len(a_free)))),
                                           _dims(a, list(range(nb + len(a_free), len(a_spec)))))
    b_batch, b_free_dims = _dims(b, list(range(nb))), _dims(b, list(range(nb + len(contract), len(b_spec))))
    a = array_ops.reshape(a, _as_shape_arg(a_batch + [_prod_dims(a_free_dims), _prod_dims(contract_dims)]))
    b = array_ops.reshape(b, _as_shape_arg(b_batch + [_prod_dims(contract_dims), _prod_dims(b_free_dims)]))
    product = math_ops.matmul(a, b)
    out_batch = _dims(product, list(range(nb)))
    result = array_ops.reshape(product, _as_shape_arg(out_batch + a_free_dims + b_free_dims))
    return result, "".join(batch + a_free + b_free)


def einsum(equation: str, *inputs: Any, name: str | None = None, **kwargs: Any) -> Tensor:
    """Einstein summation, e.g. ``'ij,jk->ik'`` (matmul), ``'bij,bjk->bik'``, ``'ij->ji'``, ``'i,i->'``.

    Operands are contracted left to right, each pair as one (batched) matmul. An ellipsis stands for
    broadcast dimensions; an index repeated within one operand takes a diagonal (``'ii->i'``, ``'iij->ij'``),
    and summed away, a trace (``'ii->'``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.einsum("ij,jk->ik", [[1.0, 2.0]], [[3.0], [4.0]]))
        array([[11.]], dtype=float32)
    """
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    if not inputs:
        raise ValueError(f"einsum '{equation}': needs at least one operand")
    with get_default_graph().name_scope(name or "einsum"):
        tensors = [convert_to_tensor(t) for t in inputs]
        specs, out = _parse(equation, tensors)
        for i, (t, spec) in enumerate(zip(tensors, specs)):
            tensors[i], specs[i] = _take_diagonals(t, spec, equation)
        acc, acc_spec = tensors[0], specs[0]
        for i in range(1, len(tensors)):
            needed = set(out).union(*specs[i + 1:])
            acc, acc_spec = _contract_pair(acc, acc_spec, tensors[i], specs[i], needed)
        acc, acc_spec = _reduce_unneeded(acc, acc_spec, set(out))
        return _transpose_to(acc, acc_spec, out)


# -- norms ----------------------------------------------------------------------------------------------------
_VECTOR_NORMS = ("euclidean", 1, 2, np.inf)
_MATRIX_NORMS = ("euclidean", "fro", 1, 2, np.inf)


def _check_norm_args(ord: Any, axis: Any) -> tuple[bool, tuple | None]:  # noqa: A002
    if isinstance(axis, (tuple, list)) and len(axis) == 2:
        axis = tuple(axis)
        if not all(isinstance(a, int) for a in axis) or axis[0] == axis[1]:
            raise ValueError(f"norm: 'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if ord not in _MATRIX_NORMS:
            raise ValueError(f"norm: 'ord' must be a supported matrix norm in {list(_MATRIX_NORMS)}, got {ord!r}")
        return True, axis
    if not (axis is None or isinstance(axis, int)):
        raise ValueError(f"norm: 'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis!r}")
    numeric = isinstance(ord, (int, float)) and not isinstance(ord, bool)
    if ord not in _VECTOR_NORMS and not (numeric and ord > 0):
        raise ValueError(f"norm: 'ord' must be a supported vector norm ({list(_VECTOR_NORMS)} or a positive "
                         f"number), got {ord!r}")
    return False, None if axis is None else (axis,)


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: bool | None = None,  # noqa: A002
         name: str | None = None, keep_dims: bool | None = None) -> Tensor:
    """Vector norms (``ord`` 'euclidean', 1, 2, np.inf or any p > 0) and matrix norms ('fro', 1, 2, np.inf).

    ``axis`` None takes the norm of the whole tensor as one vector; an int is a vector norm along it; a pair of
    ints is a matrix norm over those two axes. The matrix 2-norm is the largest singular value (an ``Svd`` op);
    its gradient is ``u1 v1^T``, the outer product of the top singular vectors.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> tf.Session().run(tf.stack([tf.norm([3.0, -4.0]), tf.norm([3.0, -4.0], ord=1),
        ...                          tf.norm([3.0, -4.0], ord=np.inf)]))
        array([5., 7., 4.], dtype=float32)
    """
    keep = bool(keepdims if keepdims is not None else keep_dims)
    is_matrix, axes = _check_norm_args(ord, axis)
    with get_default_graph().name_scope(name or "norm"):
        x = convert_to_tensor(tensor)
        reduce_axes = list(axes) if axes is not None else None
        if is_matrix and ord == 2:
            result = _matrix_2_norm(x, axes)
        elif ord in ("euclidean", "fro", 2):
            result = math_ops.sqrt(math_ops.reduce_sum(math_ops.multiply(x, x), reduce_axes, keepdims=True))
        else:
            result = math_ops.abs(x)
            if ord == 1:
                result = math_ops.reduce_sum(result, None if axes is None else axes[0], keepdims=True)
                if is_matrix:
                    result = math_ops.reduce_max(result, axes[-1], keepdims=True)
            elif ord == np.inf:
                if is_matrix:
                    result = math_ops.reduce_sum(result, axes[1], keepdims=True)
                result = math_ops.reduce_max(result, None if axes is None else axes[0], keepdims=True)
            else:
                powered = math_ops.pow(result, convert_to_tensor(ord, dtype=x.dtype))
                result = math_ops.pow(math_ops.reduce_sum(powered, reduce_axes, keepdims=True),
                                      convert_to_tensor(1.0 / ord, dtype=x.dtype))
        return result if keep else array_ops.squeeze(result, reduce_axes)


def _matrix_2_norm(x: Tensor, axes: tuple) -> Tensor:
    """The largest singular value over ``axes``, kept as two size-1 dimensions (TF moves them last for ``Svd``)."""
    rank = x.shape.rank
    if rank is None:
        raise ValueError(f"norm: the matrix 2-norm of '{x.name}' needs a known rank")
    if not all(-rank <= a < rank for a in axes):
        raise ValueError(f"norm: axis {axes} is out of range for '{x.name}' of rank {rank}")
    positive = [a % rank for a in axes]
    perm_before = [i for i in range(rank) if i not in positive] + positive
    perm_after = [perm_before.index(i) for i in range(rank)]
    permed = x if perm_before == list(range(rank)) else array_ops.transpose(x, perm_before)
    singular = svd_ops.svd(permed, compute_uv=False)
    largest = array_ops.expand_dims(math_ops.reduce_max(math_ops.abs(singular), -1, keepdims=True), -1)
    return largest if perm_after == sorted(perm_after) else array_ops.transpose(largest, perm_after)


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None,
                 dim: Any = None) -> Tensor:
    """``x / sqrt(max(sum(x**2, axis), epsilon))``; ``dim`` is the TF 1.x spelling of ``axis``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.l2_normalize([3.0, 4.0], axis=0))
        array([0.6, 0.8], dtype=float32)
    """
    if axis is not None and dim is not None:
        raise ValueError("l2_normalize: pass either axis or dim, not both")
    axis = dim if axis is None else axis
    with get_default_graph().name_scope(name or "l2_normalize") as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum, convert_to_tensor(epsilon, dtype=x.dtype)))
        return math_ops.multiply(x, inv_norm, name=scope)
