"""Elementwise kernels, generated from one template: unary, binary (with broadcasting), select, cast.

Each op is one C expression over ``x`` (and ``y``, the second input) of type ``T``; ``p`` is a float
attribute (LeakyRelu's alpha). One program per dtype holds every op, each as a flat kernel (inputs of
the output's size or of one element) and, for binary ops, a strided kernel for general broadcasting.

Integer ops whose inputs never left the host (shape arithmetic on constants) run in numpy instead.
"""

from __future__ import annotations

import functools

import numpy as np

from tensorflux.extend import broadcast_plan, host_array, on_host

from ._common import MAXD, VARIANTS, i32, index_code, launch_1d, strided_args, strided_params, variant

FLOAT, INT, BOOL = "f", "i", "b"  # kinds of dtype an expression applies to

UNARY = {
    "Neg": ("-x", FLOAT + INT), "Abs": ("ABS(x)", FLOAT + INT), "Square": ("x * x", FLOAT + INT), "Sqrt": ("sqrt(x)", FLOAT),
    "Rsqrt": ("rsqrt(x)", FLOAT), "Exp": ("exp(x)", FLOAT), "Log": ("log(x)", FLOAT), "Log1p": ("log1p(x)", FLOAT),
    "Sign": ("SIGN(x)", FLOAT + INT), "Reciprocal": ("(T)1 / x", FLOAT), "Floor": ("floor(x)", FLOAT), "Ceil": ("ceil(x)", FLOAT),
    "Round": ("rint(x)", FLOAT), "Relu": ("(x > 0 || ISNAN(x)) ? x : (T)0", FLOAT + INT),
    "Relu6": ("ISNAN(x) ? x : (x < 0 ? (T)0 : (x > 6 ? (T)6 : x))", FLOAT + INT), "Elu": ("x < 0 ? expm1(x) : x", FLOAT),
    "LeakyRelu": ("x > 0 ? x : x * (T)p", FLOAT), "Softplus": ("(x > 0 ? x : (T)0) + log1p(exp(-ABS(x)))", FLOAT),
    "Sigmoid": ("sigmoid_(x)", FLOAT), "Tanh": ("tanh(x)", FLOAT), "LogicalNot": ("!x", BOOL),
    # Special functions: OpenCL C builtins (Digamma and the classifiers run on the cpu).
    "Sin": ("sin(x)", FLOAT), "Cos": ("cos(x)", FLOAT), "Tan": ("tan(x)", FLOAT), "Asin": ("asin(x)", FLOAT),
    "Acos": ("acos(x)", FLOAT), "Atan": ("atan(x)", FLOAT), "Sinh": ("sinh(x)", FLOAT), "Cosh": ("cosh(x)", FLOAT),
    "Asinh": ("asinh(x)", FLOAT), "Acosh": ("acosh(x)", FLOAT), "Atanh": ("atanh(x)", FLOAT),
    "Expm1": ("expm1(x)", FLOAT), "Erf": ("erf(x)", FLOAT), "Erfc": ("erfc(x)", FLOAT), "Lgamma": ("lgamma(x)", FLOAT),
    "Softsign": ("x / ((T)1 + ABS(x))", FLOAT),
    "Selu": ("x < 0 ? (T)1.7580993408473766 * expm1(x) : (T)1.0507009873554805 * x", FLOAT),
}
BINARY = {
    "AddV2": ("x + y", FLOAT + INT), "Sub": ("x - y", FLOAT + INT), "Mul": ("x * y", FLOAT + INT), "RealDiv": ("x / y", FLOAT),
    "FloorDiv": ("floordiv_(x, y)", FLOAT + INT), "FloorMod": ("floormod_(x, y)", FLOAT + INT), "Pow": ("pow(x, y)", FLOAT),
    "Maximum": ("(x > y || ISNAN(x)) ? x : y", FLOAT + INT), "Minimum": ("(x < y || ISNAN(x)) ? x : y", FLOAT + INT),
    "SquaredDifference": ("(x - y) * (x - y)", FLOAT + INT),
    "ReluGrad": ("y > 0 ? x : (T)0", FLOAT + INT), "Relu6Grad": ("(y > 0 && y < 6) ? x : (T)0", FLOAT + INT),
    "EluGrad": ("y < 0 ? x * (y + (T)1) : x", FLOAT), "LeakyReluGrad": ("y > 0 ? x : x * (T)p", FLOAT),
    "SoftplusGrad": ("x * sigmoid_(y)", FLOAT), "SigmoidGrad": ("y * x * ((T)1 - x)", FLOAT),
    "TanhGrad": ("y * ((T)1 - x * x)", FLOAT),
    "Atan2": ("atan2(x, y)", FLOAT), "Xdivy": ("x == 0 ? (T)0 : x / y", FLOAT),
    "Xlogy": ("x == 0 ? (T)0 : x * log(y)", FLOAT), "DivNoNan": ("y == 0 ? (T)0 : x / y", FLOAT),
    "TruncateDiv": ("trunc(x / y)", FLOAT), "TruncateMod": ("fmod(x, y)", FLOAT),
}
COMPARE = {
    "Equal": ("x == y", FLOAT + INT + BOOL), "NotEqual": ("x != y", FLOAT + INT + BOOL), "Less": ("x < y", FLOAT + INT),
    "LessEqual": ("x <= y", FLOAT + INT), "Greater": ("x > y", FLOAT + INT), "GreaterEqual": ("x >= y", FLOAT + INT),
    "LogicalAnd": ("x && y", BOOL), "LogicalOr": ("x || y", BOOL),
}
# numpy equivalents for the host path (integer shape arithmetic on values that never left the host).
HOST = {
    "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply, "Maximum": np.maximum, "Minimum": np.minimum,
    "Equal": np.equal, "NotEqual": np.not_equal, "Less": np.less, "LessEqual": np.less_equal,
    "Greater": np.greater, "GreaterEqual": np.greater_equal, "LogicalAnd": np.logical_and,
    "LogicalOr": np.logical_or, "Neg": np.negative, "Abs": np.abs, "LogicalNot": np.logical_not,
}

_PRELUDE = """
typedef {T} T;
typedef {P} P;
#define ISNAN(v) {isnan}
#define ABS(v) {abs}
#define SIGN(v) {sign}
inline T sigmoid_(T v) {{ T e = exp(-ABS(v)); return v >= 0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e); }}
inline T floordiv_(T a, T b) {{ {floordiv} }}
inline T floormod_(T a, T b) {{ {floormod} }}
"""
_FLOAT_HELPERS = dict(
    isnan="((v) != (v))", abs="((v) < 0 ? -(v) : (v))", sign="((v) != (v) ? (v) : (T)(((v) > 0) - ((v) < 0)))",
    floordiv="return floor(a / b);",
    floormod="T r = fmod(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;")
_INT_HELPERS = dict(
    isnan="0", abs="((v) < 0 ? -(v) : (v))", sign="(T)(((v) > 0) - ((v) < 0))",
    floordiv="if (b == 0) return 0; T q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;",
    floormod="if (b == 0) return 0; T r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;")
_SIGMOID_INT = "inline T sigmoid_(T v) { return v; }"


def kind_of(dtype: np.dtype) -> str:
    """'f', 'i' or 'b': which expressions apply to ``dtype``.

    Example:
        >>> import numpy as np
        >>> kind_of(np.dtype("int32")), kind_of(np.dtype("bool"))
        ('i', 'b')
    """
    return BOOL if dtype.kind == "b" else (FLOAT if dtype.kind == "f" else INT)


def _kernel_pair(name: str, expr: str, out: str) -> str:
    flat = (f"__kernel void {name}_f(__global {out}* z, __global const T* a, __global const T* b, int n, P p, "
            f"int sa, int sb) {{ int i = get_global_id(0); if (i >= n) return; T x = a[i * sa]; T y = b[i * sb]; "
            f"z[i] = ({out})({expr}); }}\n")
    strided = "".join(
        f"__kernel void {name}_s{nd}(__global {out}* z, __global const T* a, __global const T* b, int n, P p, "
        f"{strided_params(2)}) {{ int i = get_global_id(0); if (i >= n) return; {index_code(2, nd)} "
        f"T x = a[o0]; T y = b[o1]; z[i] = ({out})({expr}); }}\n" for nd in VARIANTS)
    return flat + strided


def _source(dtype: np.dtype) -> str:
    from ..device import ctype

    kind = kind_of(dtype)
    helpers = _FLOAT_HELPERS if kind == FLOAT else _INT_HELPERS
    text = _PRELUDE.format(T=ctype(dtype), P="double" if dtype.name == "float64" else "float", **helpers)
    if kind != FLOAT:
        text = text.replace(text[text.index("inline T sigmoid_"):text.index("inline T floordiv_")], _SIGMOID_INT + "\n")
    for name, (expr, kinds) in UNARY.items():
        if kind in kinds:
            out = "uchar" if kind == BOOL else "T"
            text += (f"__kernel void {name}(__global {out}* z, __global const T* a, int n, P p) {{ "
                     f"int i = get_global_id(0); if (i >= n) return; T x = a[i]; z[i] = ({out})({expr}); }}\n")
    for name, (expr, kinds) in BINARY.items():
        if kind in kinds:
            text += _kernel_pair(name, expr, "T")
    for name, (expr, kinds) in COMPARE.items():
        if kind in kinds:
            text += _kernel_pair(name, expr, "uchar")
    text += (f"__kernel void Select_s(__global T* z, __global const uchar* c, __global const T* a, "
             f"__global const T* b, int n, {strided_params(3)}) {{ int i = get_global_id(0); if (i >= n) return; "
             f"{index_code(3)} z[i] = c[o0] ? a[o1] : b[o2]; }}\n")
    return text


def program(device, dtype: np.dtype):
    """The elementwise program for ``dtype`` on ``device`` (built once)."""
    dtype = np.dtype(dtype)
    return device.kernels(("elementwise", dtype), lambda: _source(dtype))


_F64 = np.dtype(np.float64)


def _param(dtype: np.dtype, p: float):
    """The float attribute ``p`` as the kernel's parameter type (double for float64 programs)."""
    return np.float64(p) if dtype == _F64 else np.float32(p)


@functools.lru_cache(maxsize=4096)
def _broadcast(a: tuple, b: tuple) -> tuple:
    return tuple(np.broadcast_shapes(a, b))


def unary(op: str, x, p: float = 0.0):
    """Apply unary ``op`` on the device.

    Example:
        >>> unary.__name__
        'unary'
    """
    if op in HOST and on_host(x):
        return host_array(x.device, HOST[op](x.host), x.dtype)
    dev = x.device
    out_dtype = np.bool_ if x.dtype.kind == "b" else x.dtype
    out = dev.empty(x.shape, out_dtype)
    launch_1d(dev, getattr(program(dev, x.dtype), op), out.size, out.buffer, x.buffer, i32(out.size), _param(x.dtype, p))
    return out


def binary(op: str, x, y, p: float = 0.0):
    """Apply binary ``op`` with broadcasting on the device.

    Example:
        >>> binary.__name__
        'binary'
    """
    if x.dtype != y.dtype:
        raise TypeError(f"{op} needs operands of one dtype, got {x.dtype.name} and {y.dtype.name}")
    shape = _broadcast(x.shape, y.shape)
    out_dtype = np.bool_ if op in COMPARE else x.dtype
    if op in HOST and on_host(x, y) and x.dtype.kind in "iub":
        return host_array(x.device, HOST[op](x.host, y.host), out_dtype)
    dev = x.device
    out = dev.empty(shape, out_dtype)
    n = out.size
    if n == 0:
        return out
    prog = program(dev, x.dtype)
    plan = broadcast_plan(shape, (x.shape, y.shape), MAXD)
    if plan[0] == "flat":
        launch_1d(dev, getattr(prog, op + "_f"), n, out.buffer, x.buffer, y.buffer, i32(n), _param(x.dtype, p),
                  i32(plan[1][0]), i32(plan[1][1]))
    else:
        launch_1d(dev, getattr(prog, f"{op}_s{variant(plan[1])}"), n, out.buffer, x.buffer, y.buffer, i32(n), _param(x.dtype, p),
                  *strided_args(plan[1], plan[2]))
    return out


def _unary_kernel(op: str):
    def kernel(x):
        return unary(op, x)

    kernel.__name__ = kernel.__qualname__ = op
    return kernel


def _binary_kernel(op: str):
    def kernel(x, y):
        return binary(op, x, y)

    kernel.__name__ = kernel.__qualname__ = op
    return kernel


def leaky_relu(x, *, alpha):
    return unary("LeakyRelu", x, alpha)


def leaky_relu_grad(g, features, *, alpha):
    return binary("LeakyReluGrad", g, features, alpha)


def floor_div(x, y):
    if on_host(x, y) and x.dtype.kind in "iu":
        if np.any(y.host == 0):
            raise ZeroDivisionError("integer division by zero")
        return host_array(x.device, np.floor_divide(x.host, y.host), x.dtype)
    return binary("FloorDiv", x, y)


def floor_mod(x, y):
    if on_host(x, y) and x.dtype.kind in "iu":
        if np.any(y.host == 0):
            raise ZeroDivisionError("integer modulo by zero")
        return host_array(x.device, np.mod(x.host, y.host), x.dtype)
    return binary("FloorMod", x, y)


def bias_add(value, bias, *, data_format):
    axis = 1 if data_format.startswith("NC") and value.ndim >= 3 else value.ndim - 1
    if bias.ndim != 1 or bias.shape[0] != value.shape[axis]:
        raise ValueError(f"bias of shape {list(bias.shape)} must be 1-D with {value.shape[axis]} elements, the "
                         f"channel dimension of value {list(value.shape)} ({data_format})")
    shape = [1] * (value.ndim - axis)
    shape[0] = bias.shape[0]
    return binary("AddV2", value, bias.view(tuple(shape)))


def add_n(*inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = binary("AddV2", out, x)
    return out if len(inputs) > 1 else inputs[0]


def select(condition, t, e):
    """SelectV2: ``condition ? t : e`` with broadcasting of all three."""
    if t.dtype != e.dtype:
        raise TypeError(f"SelectV2 needs t and e of one dtype, got {t.dtype.name} and {e.dtype.name}")
    shape = tuple(np.broadcast_shapes(condition.shape, t.shape, e.shape))
    dev = t.device
    out = dev.empty(shape, t.dtype)
    n = out.size
    if n == 0:
        return out
    plan = broadcast_plan(shape, (condition.shape, t.shape, e.shape), MAXD)
    if plan[0] == "flat":
        dims = (1,) * (MAXD - 1) + (n,)
        strides = tuple((0,) * (MAXD - 1) + (s,) for s in plan[1])
    else:
        dims, strides = plan[1], plan[2]
    launch_1d(dev, program(dev, t.dtype).Select_s, n, out.buffer, condition.buffer, t.buffer, e.buffer, i32(n),
              *strided_args(dims, strides))
    return out


# -- casts -----------------------------------------------------------------------------------------------
CAST_TYPES = ("float32", "float64", "int32", "int64", "bool")


def _cast_source(src: np.dtype, dst: np.dtype) -> str:
    from ..device import ctype

    s, d = ctype(src), ctype(dst)
    expr = "x != 0" if dst.kind == "b" else f"({d})x"
    return (f"__kernel void cast(__global {d}* z, __global const {s}* a, int n) {{ int i = get_global_id(0); "
            f"if (i >= n) return; {s} x = a[i]; z[i] = {expr}; }}\n")


def cast(x, *, DstT, ctx):  # noqa: N803 - TF's attr name
    dst = np.dtype(DstT.np_dtype)
    if dst == x.dtype:
        return x
    dev = ctx.device
    if on_host(x):
        return host_array(dev, x.host.astype(dst), dst)
    if dst.name not in CAST_TYPES or (dst.name == "float64" and not dev.fp64):
        # No kernel computes in float16, uint8, ... (or in double without cl_khr_fp64): cast on the host.
        with np.errstate(invalid="ignore"):
            return dev.from_host(dev.to_host(x).astype(dst))
    out = dev.empty(x.shape, dst)
    prog = dev.kernels(("cast", x.dtype, dst), lambda: _cast_source(x.dtype, dst))
    launch_1d(dev, prog.cast, out.size, out.buffer, x.buffer, i32(out.size))
    return out


def kernel_table() -> dict:
    """{op: (kernel, kinds)} for every elementwise op, kinds as in ``UNARY``/``BINARY``."""
    table = {op: (_unary_kernel(op), kinds) for op, (_, kinds) in UNARY.items()}
    table.update({op: (_binary_kernel(op), kinds) for op, (_, kinds) in {**BINARY, **COMPARE}.items()})
    table["LeakyRelu"] = (leaky_relu, FLOAT)
    table["LeakyReluGrad"] = (leaky_relu_grad, FLOAT)
    table["FloorDiv"] = (floor_div, INT)
    table["FloorMod"] = (floor_mod, INT)
    table["BiasAdd"] = (bias_add, FLOAT + INT)
    table["AddN"] = (add_n, FLOAT + INT)
    table["SelectV2"] = (select, FLOAT + INT + BOOL)
    return table


def register(registrar, dtypes: dict) -> None:
    """Register every elementwise kernel for the dtypes of its kinds (``dtypes``: kind -> dtype names)."""
    for op, (fn, kinds) in kernel_table().items():
        names = [d for k in kinds for d in dtypes[k]]
        registrar.kernel(op, "opencl", fn, dtypes=names)
    registrar.kernel("Cast", "opencl", cast, dtypes=[d for d in CAST_TYPES if d in dtypes["all"]], type_attr="SrcT")
