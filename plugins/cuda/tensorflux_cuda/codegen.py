"""Elementwise programs: an expression tree, rendered as CUDA C++ for ``cupy.ElementwiseKernel`` or evaluated
with an array namespace.

A :class:`Program` names its inputs and gives each output as an :class:`Expr` over them. The same tree has
two readings, and nothing else defines what a program computes:

- :func:`render` writes it as CUDA C++ source: one statement per node (shared nodes once), in the compute
  type (``float`` for float16 and float32, ``double`` for float64), with the ``f``-suffixed C math functions
  for ``float``. This is pure string work, so it is tested without a GPU: the same source compiles as host
  C++ (``__device__`` defined away) and must agree with :func:`evaluate`.
- :func:`evaluate` computes it with the array namespace ``xp`` (numpy, ``array_api_strict``...): the path of
  every device without a CUDA compiler behind it, and the oracle of the rendered source.

Example:
    >>> import numpy as np
    >>> x, y = inputs("x", "y")
    >>> program = Program("axpy", ("x", "y"), {"z": 2.0 * x + y})
    >>> evaluate(program, np, {"x": np.ones(2, np.float32), "y": np.arange(2, dtype=np.float32)})["z"].tolist()
    [2.0, 3.0]
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

# op -> C++ infix operator, for the binary ops written that way
_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==",
          "ne": "!=", "and": "&&", "or": "||"}
# op -> C math function of a double (the float variant adds an ``f``)
_MATH = {"exp": "exp", "log": "log", "log1p": "log1p", "expm1": "expm1", "sqrt": "sqrt", "tanh": "tanh",
         "floor": "floor", "ceil": "ceil", "rint": "rint", "abs": "fabs", "pow": "pow"}
_BOOLEAN = frozenset({"lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not", "isnan"})
COMPUTE = {"float16": "float32", "float32": "float32", "float64": "float64"}  # dtype -> the dtype computed in
_CTYPE = {"float32": "float", "float64": "double"}


class Expr:
    """A node of an elementwise expression: an input, a constant, or an op applied to nodes.

    Python's arithmetic and comparison operators build nodes (``==`` and ``!=`` do not: use :func:`eq`).

    Example:
        >>> x, = inputs("x")
        >>> (x * 2.0 + 1.0).op
        'add'
    """

    __slots__ = ("op", "args", "value")

    def __init__(self, op: str, args: tuple = (), value: Any = None) -> None:
        self.op, self.args, self.value = op, tuple(args), value

    def __repr__(self) -> str:
        if self.op == "in":
            return self.value
        if self.op == "const":
            return repr(self.value)
        return f"{self.op}({', '.join(map(repr, self.args))})"

    def __add__(self, other: Any) -> Expr:
        return Expr("add", (self, lift(other)))

    def __radd__(self, other: Any) -> Expr:
        return Expr("add", (lift(other), self))

    def __sub__(self, other: Any) -> Expr:
        return Expr("sub", (self, lift(other)))

    def __rsub__(self, other: Any) -> Expr:
        return Expr("sub", (lift(other), self))

    def __mul__(self, other: Any) -> Expr:
        return Expr("mul", (self, lift(other)))

    def __rmul__(self, other: Any) -> Expr:
        return Expr("mul", (lift(other), self))

    def __truediv__(self, other: Any) -> Expr:
        return Expr("div", (self, lift(other)))

    def __rtruediv__(self, other: Any) -> Expr:
        return Expr("div", (lift(other), self))

    def __neg__(self) -> Expr:
        return Expr("neg", (self,))

    def __lt__(self, other: Any) -> Expr:
        return Expr("lt", (self, lift(other)))

    def __le__(self, other: Any) -> Expr:
        return Expr("le", (self, lift(other)))

    def __gt__(self, other: Any) -> Expr:
        return Expr("gt", (self, lift(other)))

    def __ge__(self, other: Any) -> Expr:
        return Expr("ge", (self, lift(other)))

    def __and__(self, other: Any) -> Expr:
        return Expr("and", (self, lift(other)))

    def __or__(self, other: Any) -> Expr:
        return Expr("or", (self, lift(other)))

    def __invert__(self) -> Expr:
        return Expr("not", (self,))

    __hash__ = object.__hash__


def lift(value: Any) -> Expr:
    """``value`` as a node: nodes stay, finite Python numbers become constants.

    Example:
        >>> lift(2).value
        2.0
    """
    if isinstance(value, Expr):
        return value
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"an elementwise program's constants must be finite, got {value}")
    return Expr("const", value=value)


def inputs(*names: str) -> tuple[Expr, ...]:
    """One input node per name.

    Example:
        >>> [repr(e) for e in inputs("a", "b")]
        ['a', 'b']
    """
    return tuple(Expr("in", value=name) for name in names)


def _fn(op: str, arity: int) -> Callable[..., Expr]:
    def build(*args: Any) -> Expr:
        if len(args) != arity:
            raise TypeError(f"{op} takes {arity} operand(s), got {len(args)}")
        return Expr(op, tuple(lift(a) for a in args))

    build.__name__ = build.__qualname__ = op
    build.__doc__ = f"The node ``{op}`` of {arity} operand(s)."
    return build


exp, log, log1p, expm1, sqrt, tanh, floor, ceil, rint, absolute = (
    _fn(op, 1) for op in ("exp", "log", "log1p", "expm1", "sqrt", "tanh", "floor", "ceil", "rint", "abs"))
isnan, logical_not, power, eq, ne = _fn("isnan", 1), _fn("not", 1), _fn("pow", 2), _fn("eq", 2), _fn("ne", 2)
where = _fn("where", 3)


def maximum(a: Any, b: Any) -> Expr:
    """``max(a, b)``, nan when ``a`` or ``b`` is (as TF's Maximum).

    Example:
        >>> maximum(*inputs("a", "b")).op
        'where'
    """
    a, b = lift(a), lift(b)
    return where((a > b) | isnan(a), a, b)


def minimum(a: Any, b: Any) -> Expr:
    """``min(a, b)``, nan when ``a`` or ``b`` is (as TF's Minimum).

    Example:
        >>> minimum(*inputs("a", "b")).op
        'where'
    """
    a, b = lift(a), lift(b)
    return where((a < b) | isnan(a), a, b)


def sign(x: Any) -> Expr:
    """-1, 0 or 1 by the sign of ``x``; nan stays nan.

    Example:
        >>> sign(inputs("x")[0]).op
        'where'
    """
    x = lift(x)
    return where(isnan(x), x, where(x > 0.0, 1.0, where(x < 0.0, -1.0, 0.0)))


def sigmoid(x: Any) -> Expr:
    """``1 / (1 + exp(-x))``, computed from ``exp(-|x|)`` so it never overflows.

    Example:
        >>> sigmoid(inputs("x")[0]).op
        'where'
    """
    x = lift(x)
    e = exp(-absolute(x))
    return where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


class Program:
    """An elementwise program: input names (the kernel's parameters, in order) and named output expressions.

    Example:
        >>> x, = inputs("x")
        >>> Program("twice", ("x",), {"y": x * 2.0}).outputs["y"].op
        'mul'
    """

    def __init__(self, name: str, input_names: Iterable[str], outputs: dict[str, Expr]) -> None:
        self.name = name
        self.inputs = tuple(input_names)
        self.outputs = dict(outputs)
        used = {n.value for n in nodes(self.outputs.values()) if n.op == "in"}
        unknown = sorted(used - set(self.inputs))
        if unknown:
            raise ValueError(f"program {name!r} reads {unknown}, which are not among its inputs {list(self.inputs)}")
        for ident in (name, *self.inputs, *self.outputs):
            if not ident.isidentifier():
                raise ValueError(f"program {name!r}: {ident!r} is not a C identifier")

    def __repr__(self) -> str:
        return f"Program({self.name!r}, {self.inputs}, {self.outputs})"


def nodes(roots: Iterable[Expr]) -> list[Expr]:
    """Every node reachable from ``roots``, each once, operands before the nodes that use them.

    Example:
        >>> x, = inputs("x")
        >>> [n.op for n in nodes([exp(x) + x])]
        ['in', 'exp', 'add']
    """
    order: list[Expr] = []
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded or not node.args:
            seen.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in reversed(node.args) if id(a) not in seen)
    return order


# -- CUDA C++ ----------------------------------------------------------------------------------------------------
class Source:
    """What ``cupy.ElementwiseKernel(in_params, out_params, operation, name)`` takes, rendered for one dtype.

    Example:
        >>> x, = inputs("x")
        >>> src = render(Program("neg", ("x",), {"y": -x}), "float32")
        >>> src.in_params, src.out_params
        ('float32 x', 'float32 y')
    """

    __slots__ = ("name", "in_params", "out_params", "operation", "dtype")

    def __init__(self, name: str, in_params: str, out_params: str, operation: str, dtype: str) -> None:
        self.name, self.in_params, self.out_params, self.operation, self.dtype = (
            name, in_params, out_params, operation, dtype)


def _literal(value: float, ctype: str) -> str:
    text = repr(float(value))
    return f"{text}f" if ctype == "float" else text


def _statement(node: Expr, operands: list[str], ctype: str) -> str:
    op = node.op
    suffix = "f" if ctype == "float" else ""
    if op in _INFIX:
        return f"({operands[0]} {_INFIX[op]} {operands[1]})"
    if op == "neg":
        return f"(-{operands[0]})"
    if op == "not":
        return f"(!{operands[0]})"
    if op == "isnan":
        return f"({operands[0]} != {operands[0]})"
    if op == "where":
        return f"({operands[0]} ? {operands[1]} : {operands[2]})"
    if op in _MATH:
        return f"{_MATH[op]}{suffix}({', '.join(operands)})"
    raise ValueError(f"no CUDA rendering for the elementwise node {op!r}")


def render(program: Program, dtype: str) -> Source:
    """The CUDA C++ of ``program`` with every input and output of ``dtype`` (float16, float32 or float64).

    Example:
        >>> x, y = inputs("x", "y")
        >>> print(render(Program("axpy", ("x", "y"), {"z": 2.0 * x + y}), "float32").operation)
        const float v0 = (float)x;
        const float v1 = (2.0f * v0);
        const float v2 = (float)y;
        const float v3 = (v1 + v2);
        z = v3;
    """
    if dtype not in COMPUTE:
        raise TypeError(f"program {program.name!r}: elementwise programs compute in float16, float32 or float64, "
                        f"not {dtype}")
    ctype = _CTYPE[COMPUTE[dtype]]
    names: dict[int, str] = {}
    lines = []
    for node in nodes(program.outputs.values()):
        if node.op == "const":
            names[id(node)] = _literal(node.value, ctype)
            continue
        var = f"v{len(lines)}"
        if node.op == "in":
            lines.append(f"const {ctype} {var} = ({ctype}){node.value};")
        else:
            kind = "bool" if node.op in _BOOLEAN else ctype
            lines.append(f"const {kind} {var} = {_statement(node, [names[id(a)] for a in node.args], ctype)};")
        names[id(node)] = var
    for out, expr in program.outputs.items():
        value = names[id(expr)]
        lines.append(f"{out} = {value};" if dtype != "float16" else f"{out} = (float16){value};")
    return Source(program.name, ", ".join(f"{dtype} {n}" for n in program.inputs),
                  ", ".join(f"{dtype} {n}" for n in program.outputs), "\n".join(lines), dtype)


# -- evaluation with an array namespace --------------------------------------------------------------------------
def _evaluators(xp: Any) -> dict[str, Callable]:
    return {
        "add": xp.add, "sub": xp.subtract, "mul": xp.multiply, "div": xp.divide, "lt": xp.less, "le": xp.less_equal,
        "gt": xp.greater, "ge": xp.greater_equal, "eq": xp.equal, "ne": xp.not_equal, "and": xp.logical_and,
        "or": xp.logical_or, "not": xp.logical_not, "isnan": xp.isnan, "neg": xp.negative, "exp": xp.exp,
        "log": xp.log, "log1p": xp.log1p, "expm1": xp.expm1, "sqrt": xp.sqrt, "tanh": xp.tanh, "floor": xp.floor,
        "ceil": xp.ceil, "rint": xp.round, "abs": xp.abs, "pow": xp.pow, "where": xp.where,
    }


def evaluate(program: Program, xp: Any, arrays: dict[str, Any]) -> dict[str, Any]:
    """``program``'s outputs computed with namespace ``xp`` from ``arrays`` ({input name: array}, broadcasting),
    each in the inputs' dtype; the computation runs in the dtype :func:`render` computes in.

    Example:
        >>> import numpy as np
        >>> x, = inputs("x")
        >>> evaluate(Program("half", ("x",), {"y": x / 2.0}), np, {"x": np.ones(1, np.float16)})["y"].dtype
        dtype('float16')
    """
    missing = [n for n in program.inputs if n not in arrays]
    if missing:
        raise ValueError(f"program {program.name!r} needs inputs {missing}")
    first = arrays[program.inputs[0]]
    dtype = first.dtype
    compute = getattr(xp, COMPUTE[_dtype_name(dtype)])
    ops = _evaluators(xp)
    values: dict[int, Any] = {}
    with np.errstate(all="ignore"):  # inf and nan are results here, as on the GPU
        for node in nodes(program.outputs.values()):
            if node.op == "in":
                x = arrays[node.value]
                values[id(node)] = x if x.dtype == compute else xp.astype(x, compute)
            elif node.op == "const":
                values[id(node)] = xp.asarray(node.value, dtype=compute)
            else:
                values[id(node)] = ops[node.op](*[values[id(a)] for a in node.args])
        out = {}
        for name, expr in program.outputs.items():
            value = values[id(expr)]
            shape = _broadcast_shape([arrays[n].shape for n in program.inputs])
            if tuple(value.shape) != shape:  # an output that reads only some inputs still has the kernel's shape
                value = xp.broadcast_to(value, shape)
            out[name] = value if value.dtype == dtype else xp.astype(value, dtype)
    return out


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    for known in COMPUTE:
        if known in name:
            return known
    raise TypeError(f"elementwise programs compute in float16, float32 or float64, not {name}")


def _broadcast_shape(shapes: list) -> tuple:
    return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
