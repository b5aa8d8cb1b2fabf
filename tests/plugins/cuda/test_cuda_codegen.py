"""The CUDA source of elementwise programs, checked without a GPU.

The rendered operation is compiled as host C++ (``__device__`` defined away; the loop and parameter binding
mirror what ``cupy.ElementwiseKernel`` generates around it) and run on inputs with the awkward values (zeros,
signed infinities, nan, ties for rounding); its results must match ``codegen.evaluate`` of the same tree,
which in turn must match numpy's own functions and the unfused ops run by tensorflux's cpu kernels.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflux_cuda", reason="the tensorflux-cuda plugin is not installed")

import tensorflux as tf  # noqa: E402
from tensorflux_cuda import codegen  # noqa: E402 - after the importorskip
from tensorflux_cuda.fusion import EXPRESSIONS, chain_program  # noqa: E402
from tensorflux_cuda.kernels import nn, training  # noqa: E402

CTYPES = {"float32": ("float", ctypes.c_float), "float64": ("double", ctypes.c_double)}
# Operand values every single-op program meets: signed zeros, tiny and huge, infinities, nan, rounding ties.
SPECIAL = np.array([0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 3.0, 6.0, 7.5, -7.5, 1e-30, 1e30, 88.0, -88.0,
                    np.inf, -np.inf, np.nan])


def _harness(src: codegen.Source, symbol: str) -> str:
    """A C function running ``src.operation`` over every index, as ElementwiseKernel's loop does."""
    ctype = CTYPES[src.dtype][0]
    ins = [p.split()[1] for p in src.in_params.split(", ")]
    outs = [p.split()[1] for p in src.out_params.split(", ")]
    params = ", ".join([f"const {ctype}* in_{n}" for n in ins] + [f"{ctype}* out_{n}" for n in outs])
    bind = " ".join([f"const {ctype} {n} = in_{n}[i];" for n in ins] + [f"{ctype}& {n} = out_{n}[i];" for n in outs])
    return (f'extern "C" void {symbol}(long n, {params}) {{\n  for (long i = 0; i < n; ++i) {{ {bind}\n'
            f"{src.operation}\n  }}\n}}\n")


class Compiled:
    """Programs rendered to CUDA C++, built once into a shared library with the host compiler."""

    def __init__(self, programs: dict, directory: Path) -> None:
        text = "#include <math.h>\n#define __device__\n"
        self.sources = {}
        for key, (program, dtype) in programs.items():
            src = codegen.render(program, dtype)
            self.sources[key] = src
            text += _harness(src, key)
        (directory / "programs.cpp").write_text(text)
        # -O0 and no fast-math: IEEE arithmetic, as nvcc's defaults are for these operations
        subprocess.run(["g++", "-O0", "-shared", "-fPIC", "-o", str(directory / "programs.so"),
                        str(directory / "programs.cpp")], check=True, capture_output=True, text=True)
        self.lib = ctypes.CDLL(str(directory / "programs.so"))

    def run(self, key: str, program: codegen.Program, arrays: list) -> dict:
        dtype = self.sources[key].dtype
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        flat = [np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype) for a in arrays]
        outs = {n: np.empty(shape, dtype) for n in program.outputs}
        pointer = ctypes.POINTER(CTYPES[dtype][1])
        getattr(self.lib, key)(ctypes.c_long(int(np.prod(shape))), *[a.ctypes.data_as(pointer) for a in flat],
                               *[o.ctypes.data_as(pointer) for o in outs.values()])
        return outs


def _single_op_programs() -> dict:
    """One program per op of the fusion table, over operands named a and b (those it reads)."""
    a, b = codegen.inputs("a", "b")
    found = {}
    for op, build in EXPRESSIONS.items():
        expr = build([a, b], {"alpha": 0.3, "data_format": "NHWC"})
        read = {n.value for n in codegen.nodes([expr]) if n.op == "in"}
        found[op] = codegen.Program(op.lower(), tuple(n for n in ("a", "b") if n in read), {"out": expr})
    return found


def _chain():
    # relu(x * w + b) -> tanh -> squared difference with y: five ops, one kernel
    steps = [("Mul", {}, [("in", 0), ("in", 1)]), ("BiasAdd", {"data_format": "NHWC"}, [("step", 0), ("in", 2)]),
             ("Relu", {}, [("step", 1)]), ("Tanh", {}, [("step", 2)]), ("SquaredDifference", {}, [("step", 3), ("in", 3)])]
    return chain_program(steps, "float32")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Compiled, dict]:
    if shutil.which("g++") is None:
        pytest.skip("no host C++ compiler (g++) to build the rendered CUDA source with")
    programs = {f"op_{op}_{dtype}": (p, dtype) for op, p in _single_op_programs().items() for dtype in CTYPES}
    programs.update({f"adam_{n}_{dtype}": (training.PROGRAMS[n], dtype) for n in (False, True) for dtype in CTYPES})
    programs.update({f"xent_{dtype}": (nn.XENT, dtype) for dtype in CTYPES})
    programs["chain_float32"] = (_chain(), "float32")
    return Compiled(programs, tmp_path_factory.mktemp("codegen")), programs


def _assert_same(got: np.ndarray, want: np.ndarray, dtype: str, what: str) -> None:
    rtol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: nan positions differ")
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True, err_msg=what)


def test_render_writes_one_statement_per_node_in_the_compute_type():
    x, y = codegen.inputs("x", "y")
    e = codegen.exp(x - y)
    src = codegen.render(codegen.Program("p", ("x", "y"), {"a": e * 2.0, "b": e + x}), "float16")
    assert src.in_params == "float16 x, float16 y" and src.out_params == "float16 a, float16 b"
    assert src.operation.splitlines() == [
        "const float v0 = (float)x;", "const float v1 = (float)y;", "const float v2 = (v0 - v1);",
        "const float v3 = expf(v2);", "const float v4 = (v3 * 2.0f);", "const float v5 = (v3 + v0);",
        "a = (float16)v4;", "b = (float16)v5;"]
    assert "exp(" in codegen.render(codegen.Program("p", ("x", "y"), {"a": e}), "float64").operation


def test_programs_refuse_unknown_inputs_non_identifiers_and_other_dtypes():
    x, y = codegen.inputs("x", "y")
    with pytest.raises(ValueError, match=r"reads \['y'\], which are not among its inputs \['x'\]"):
        codegen.Program("p", ("x",), {"z": x + y})
    with pytest.raises(ValueError, match="not a C identifier"):
        codegen.Program("p", ("x",), {"z-1": x})
    with pytest.raises(TypeError, match="not int32"):
        codegen.render(codegen.Program("p", ("x",), {"z": x}), "int32")
    with pytest.raises(ValueError, match="must be finite"):
        x + float("inf")


@pytest.mark.parametrize("dtype", list(CTYPES))
def test_every_fusible_op_renders_source_that_computes_what_evaluate_does(compiled, dtype):
    lib, _ = compiled
    grid_a, grid_b = np.meshgrid(SPECIAL, SPECIAL, indexing="ij")
    for op, program in _single_op_programs().items():
        arrays = [grid_a.astype(dtype), grid_b.astype(dtype)][:len(program.inputs)]
        got = lib.run(f"op_{op}_{dtype}", program, arrays)["out"]
        want = codegen.evaluate(program, np, dict(zip(program.inputs, arrays)))["out"]
        _assert_same(got, want, dtype, f"{op} at {dtype}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the cpu kernels meet inf and nan on purpose here
def test_each_op_expression_computes_what_tensorflux_cpu_kernel_computes():
    """The expression table against the ops themselves, run unfused by the cpu plugin."""
    rng = np.random.default_rng(0)
    a = np.concatenate([SPECIAL, rng.normal(0, 3, 40)]).astype(np.float32)
    b = np.concatenate([np.roll(SPECIAL, 3), rng.normal(0, 3, 40)]).astype(np.float32)
    pa, pb = tf.placeholder(tf.float32, [None]), tf.placeholder(tf.float32, [None])
    ops = {"AddV2": pa + pb, "Sub": pa - pb, "Mul": pa * pb, "RealDiv": pa / pb, "Maximum": tf.maximum(pa, pb),
           "Minimum": tf.minimum(pa, pb), "SquaredDifference": tf.squared_difference(pa, pb), "Pow": tf.pow(pa, pb),
           "Neg": -pa, "Abs": tf.abs(pa), "Square": tf.square(pa), "Sqrt": tf.sqrt(pa), "Rsqrt": tf.rsqrt(pa),
           "Exp": tf.exp(pa), "Log": tf.log(pa), "Log1p": tf.log1p(pa), "Sign": tf.sign(pa),
           "Reciprocal": tf.reciprocal(pa), "Floor": tf.floor(pa), "Ceil": tf.ceil(pa), "Round": tf.round(pa),
           "Relu": tf.nn.relu(pa), "Relu6": tf.nn.relu6(pa), "Elu": tf.nn.elu(pa),
           "LeakyRelu": tf.nn.leaky_relu(pa, alpha=0.3), "Softplus": tf.nn.softplus(pa), "Sigmoid": tf.sigmoid(pa),
           "Tanh": tf.tanh(pa)}
    with tf.Session(config={"disable_passes": "all"}) as sess:
        results = sess.run(list(ops.values()), {pa: a, pb: b})
    x, y = codegen.inputs("a", "b")
    for op, want in zip(ops, results):
        expr = EXPRESSIONS[op]([x, y], {"alpha": 0.3})
        got = codegen.evaluate(codegen.Program("p", ("a", "b"), {"out": expr}), np, {"a": a, "b": b})["out"]
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30, equal_nan=True, err_msg=op)


def test_a_fused_chain_computes_the_unfused_ops_in_one_program(compiled):
    lib, _ = compiled
    program = _chain()
    assert program.inputs == ("i0", "i1", "i2", "i3")
    rng = np.random.default_rng(1)
    x, w, y = (rng.normal(size=(4, 5, 3)).astype(np.float32) for _ in range(3))
    b = rng.normal(size=3).astype(np.float32)
    want = (np.tanh(np.maximum(x * w + b, 0)) - y) ** 2
    evaluated = codegen.evaluate(program, np, {"i0": x, "i1": w, "i2": b, "i3": y})["out"]
    np.testing.assert_allclose(evaluated, want, rtol=1e-6)
    _assert_same(lib.run("chain_float32", program, [x, w, b, y])["out"], evaluated, "float32", "the chain")


def _adam_numpy(var, m, v, g, lr, b1, b2, eps, b1p, b2p, nesterov):
    """TF's Adam step, written out with numpy."""
    lr_t = lr * np.sqrt(1 - b2p) / (1 - b1p)
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    d = m * b1 + g * (1 - b1) if nesterov else m
    return var - lr_t * d / (np.sqrt(v) + eps), m, v


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", list(CTYPES))
def test_the_adam_kernel_source_takes_tf_adam_step(compiled, nesterov, dtype):
    lib, _ = compiled
    rng = np.random.default_rng(2)
    var, m, g = (rng.normal(size=50).astype(dtype) for _ in range(3))
    v = rng.random(50).astype(dtype)
    scalars = [np.array(s, dtype) for s in (0.9 ** 3, 0.999 ** 3, 1e-3, 0.9, 0.999, 1e-8)]
    program = training.PROGRAMS[nesterov]
    arrays = [var, m, v, *scalars, g]
    evaluated = codegen.evaluate(program, np, dict(zip(program.inputs, arrays)))
    want = _adam_numpy(var, m, v, g, 1e-3, 0.9, 0.999, 1e-8, 0.9 ** 3, 0.999 ** 3, nesterov)
    for name, expect in zip(("var_out", "m_out", "v_out"), want):
        np.testing.assert_allclose(evaluated[name], expect, rtol=1e-5 if dtype == "float32" else 1e-12)
    native = lib.run(f"adam_{nesterov}_{dtype}", program, arrays)
    for name in program.outputs:
        _assert_same(native[name], evaluated[name], dtype, f"adam {name}")


def test_the_cross_entropy_source_gives_the_softmax_gradient_and_loss_terms(compiled):
    lib, _ = compiled
    rng = np.random.default_rng(3)
    u = rng.normal(size=(6, 10)) * 5
    y = rng.random((6, 10))
    y /= y.sum(axis=1, keepdims=True)
    m = u.max(axis=1, keepdims=True)
    s = np.exp(u - m).sum(axis=1, keepdims=True)
    native = lib.run("xent_float64", nn.XENT, [u, m, s, y])
    softmax = np.exp(u) / np.exp(u).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(native["backprop"], softmax - y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(native["loss_terms"].sum(axis=1), -(y * np.log(softmax)).sum(axis=1), rtol=1e-12)
