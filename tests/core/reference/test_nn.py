"""The nn reference kernels (activations, softmax, cross-entropy, bias add, L2 loss, InTopKV2, _MatMulApplyAdam) over
numpy (through ``array_api_compat``) and ``array_api_strict`` (held to the 2023.12 standard), against the cpu
plugin's kernels on random inputs. The convolution and pooling kernels are in test_conv.py."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import ml_dtypes
import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.reference import nn
from tensorflux.extend import VariableSlot
from tensorflux_cpu.device import CpuDevice
from tensorflux_cpu.kernels import nn as cpu_nn, training as cpu_training

RNG = np.random.default_rng(7)
FLOATS = [np.float32, np.float64]
LOW = [np.float16, ml_dtypes.bfloat16]  # not in array_api_strict: the standard has neither
# The standard's tolerance per dtype: both sides compute low precision in float32 and round once.
TOL = {np.dtype(np.float16): 1e-3, np.dtype(ml_dtypes.bfloat16): 1e-2, np.dtype(np.float32): 2e-6,
       np.dtype(np.float64): 1e-12}


@dataclasses.dataclass
class Namespace:
    """An array namespace under test, and how numpy arrays go in and come out."""

    name: str
    xp: Any
    table: dict

    def to(self, a: Any) -> Any:
        return self.xp.asarray(a) if self.name == "array_api_strict" else a

    def call(self, op: str, *inputs: Any, **attrs: Any) -> Any:
        out = self.table[op](*[self.to(a) if isinstance(a, np.ndarray) else a for a in inputs], **attrs)
        return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)


@pytest.fixture(params=["numpy", "array_api_compat.numpy", "array_api_strict"])
def space(request):
    """Each namespace, with the nn reference kernels bound to it: numpy 2's own, numpy through array_api_compat,
    and array_api_strict held to the 2023.12 standard."""
    if request.param == "numpy":
        yield Namespace("numpy", np, nn.kernels(np))
        return
    if request.param == "array_api_compat.numpy":
        compat = pytest.importorskip("array_api_compat.numpy", reason="array-api-compat is not installed (pip "
                                                                      "install -e '.[test]' installs it)")
        yield Namespace("array_api_compat.numpy", compat, nn.kernels(compat))
        return
    strict = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed (pip install -e "
                                                            "'.[test]' installs it)")
    with strict.ArrayAPIStrictFlags(api_version="2023.12"):
        yield Namespace("array_api_strict", strict, nn.kernels(strict))


def dtypes_of(space: Namespace) -> list:
    return FLOATS + (LOW if space.name != "array_api_strict" else [])


def close(got: Any, want: Any, dtype: Any = None) -> None:
    want = np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    tol = TOL.get(np.dtype(dtype or want.dtype), 0)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)


def normal(shape: tuple, dtype: Any, scale: float = 3.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(dtype)


# -- activations --------------------------------------------------------------------------------------------------
UNARY = ["Relu", "Relu6", "Elu", "Softplus", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "L2Loss"]
GRADS = ["ReluGrad", "Relu6Grad", "EluGrad", "SoftplusGrad", "SigmoidGrad", "TanhGrad"]


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 4)])
def test_unary_ops_match_the_cpu_kernels(space, op, shape):
    for dtype in dtypes_of(space):
        x = normal(shape, dtype, scale=4.0)
        x.reshape(-1)[:2] = [0, 6]  # the kinks of Relu and Relu6
        close(space.call(op, x), cpu_nn.KERNELS[op](x))


@pytest.mark.parametrize("op", GRADS)
def test_activation_gradients_match_the_cpu_kernels(space, op):
    for dtype in dtypes_of(space):
        g, second = normal((4, 9), dtype), normal((4, 9), dtype, scale=4.0)
        if op in ("SigmoidGrad", "TanhGrad"):  # their first input is the activation's output
            second = cpu_nn.KERNELS[op[:-4]](second)
            close(space.call(op, second, g), cpu_nn.KERNELS[op](second, g))
        else:
            if op == "EluGrad":
                second = cpu_nn.KERNELS["Elu"](second)
            close(space.call(op, g, second), cpu_nn.KERNELS[op](g, second))


@pytest.mark.parametrize("alpha", [0.2, 0.01, 1.5])
def test_leaky_relu_and_its_gradient_match_the_cpu_kernels(space, alpha):
    for dtype in dtypes_of(space):
        x, g = normal((6, 5), dtype), normal((6, 5), dtype)
        close(space.call("LeakyRelu", x, alpha=alpha), cpu_nn.leaky_relu(x, alpha=alpha))
        close(space.call("LeakyReluGrad", g, x, alpha=alpha), cpu_nn.leaky_relu_grad(g, x, alpha=alpha))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_integer_relus_and_their_gradients_keep_the_dtype(space, dtype):
    x = RNG.integers(-10 if dtype != np.uint8 else 0, 12, size=(3, 8)).astype(dtype)
    g = RNG.integers(0, 9, size=(3, 8)).astype(dtype)
    for op in ("Relu", "Relu6"):
        close(space.call(op, x), cpu_nn.KERNELS[op](x))
    for op in ("ReluGrad", "Relu6Grad"):
        close(space.call(op, g, x), cpu_nn.KERNELS[op](g, x))


def test_activations_pass_nan_and_saturate_without_overflow(space):
    x = np.array([np.nan, -np.inf, np.inf, -1e30, 1e30, 0.0], np.float32)
    for op in ("Relu", "Relu6", "Sigmoid", "Tanh", "Softplus", "Elu"):
        with np.errstate(invalid="ignore"):  # the cpu kernel's numpy warns on nan; the result is what counts
            want = cpu_nn.KERNELS[op](x)
        np.testing.assert_array_equal(space.call(op, x), want, err_msg=op)


# -- softmax and cross-entropy ----------------------------------------------------------------------------------
def test_softmax_cross_entropy_matches_the_cpu_kernel(space):
    for dtype in dtypes_of(space):
        logits = normal((5, 7), dtype)
        labels = cpu_nn.softmax(normal((5, 7), dtype))
        for got, want in zip(space.call("SoftmaxCrossEntropyWithLogits", logits, labels),
                             cpu_nn.softmax_xent(logits, labels)):
            close(got, want)


def test_softmax_cross_entropy_refuses_mismatched_shapes(space):
    with pytest.raises(ValueError, match=r"logits and labels must have the same shape, got logits \[2, 3\] and "
                                         r"labels \[2, 4\]"):
        space.call("SoftmaxCrossEntropyWithLogits", normal((2, 3), np.float32), normal((2, 4), np.float32))


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
def test_sparse_softmax_cross_entropy_matches_the_cpu_kernel(space, label_dtype):
    for dtype in dtypes_of(space):
        logits = normal((9, 6), dtype, scale=10.0)
        labels = RNG.integers(0, 6, size=9).astype(label_dtype)
        for got, want in zip(space.call("SparseSoftmaxCrossEntropyWithLogits", logits, labels),
                             cpu_nn.sparse_softmax_xent(logits, labels)):
            close(got, want)


def test_sparse_softmax_cross_entropy_names_a_label_out_of_range(space):
    logits, labels = normal((3, 4), np.float32), np.array([1, 4, 0], np.int64)
    with pytest.raises(ValueError) as ours:
        space.call("SparseSoftmaxCrossEntropyWithLogits", logits, labels)
    with pytest.raises(ValueError) as theirs:
        cpu_nn.sparse_softmax_xent(logits, labels)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match=r"labels must have shape \[3\]"):
        space.call("SparseSoftmaxCrossEntropyWithLogits", logits, labels[:2])


# -- bias_add, l2_loss, in_top_k -------------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 4, 5)])
def test_bias_add_and_its_gradient_match_the_cpu_kernels(space, data_format, shape):
    for dtype in dtypes_of(space) + [np.int32]:
        value = normal(shape, dtype)
        axis = 1 if data_format == "NCHW" and len(shape) >= 3 else len(shape) - 1
        bias = normal((shape[axis],), dtype)
        close(space.call("BiasAdd", value, bias, data_format=data_format),
              cpu_nn.bias_add(value, bias, data_format=data_format))
        close(space.call("BiasAddGrad", value, data_format=data_format),
              cpu_nn.bias_add_grad(value, data_format=data_format), dtype=np.float32 if dtype in LOW else None)


def test_bias_add_names_the_channel_dimension_it_expected(space):
    with pytest.raises(ValueError, match=r"bias of shape \[4\] must be 1-D with 3 elements, the channel dimension "
                                         r"of value \[2, 3, 5\] \(NCHW\)"):
        space.call("BiasAdd", normal((2, 3, 5), np.float32), normal((4,), np.float32), data_format="NCHW")


@pytest.mark.parametrize("k", [0, 1, 2, 5])
@pytest.mark.parametrize("target_dtype", [np.int32, np.int64])
def test_in_top_k_matches_the_cpu_kernel(space, k, target_dtype):
    predictions = np.round(normal((8, 5), np.float32), 0)  # rounding makes ties
    predictions[0, 1], predictions[1, 2] = np.nan, np.inf
    targets = np.array([1, 2, 0, 4, 3, -1, 5, 2], target_dtype)  # out-of-range targets are never in the top k
    got = space.call("InTopKV2", predictions, targets, np.array(k, target_dtype))
    np.testing.assert_array_equal(got, cpu_nn.in_top_k(predictions, targets, np.array(k, target_dtype)))
    assert got.dtype == np.bool_


# -- _MatMulApplyAdam ---------------------------------------------------------------------------------------------
def _slots(values: dict, convert: Callable) -> dict:
    slots = {}
    for name, value in values.items():
        slot = VariableSlot(name, tf.as_dtype(value.dtype), tf.TensorShape(list(value.shape)), CpuDevice(0))
        slot.assign(convert(value.copy()))
        slots[name] = slot
    return slots


@pytest.mark.parametrize("use_nesterov", [False, True])
@pytest.mark.parametrize("transpose_a, transpose_b", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_apply_adam_matches_the_cpu_kernel_and_replaces_the_arrays(space, use_nesterov, transpose_a,
                                                                          transpose_b):
    for dtype in FLOATS:
        start = {"w": normal((4, 3), dtype), "m": normal((4, 3), dtype, 0.1), "v": np.abs(normal((4, 3), dtype, 0.1))}
        a, b = normal((5, 4) if transpose_a else (4, 5), dtype), normal((3, 5) if transpose_b else (5, 3), dtype)
        scalars = [np.asarray(s, dtype) for s in (0.9 ** 3, 0.999 ** 3, 0.01, 0.9, 0.999, 1e-7)]
        attrs = dict(transpose_a=transpose_a, transpose_b=transpose_b, use_locking=True, use_nesterov=use_nesterov)
        ours, theirs = _slots(start, space.to), _slots(start, lambda v: v)
        held = [s.read() for s in ours.values()]
        out = space.table["_MatMulApplyAdam"](*ours.values(), *[space.to(s) for s in scalars], space.to(a),
                                             space.to(b), **attrs)
        cpu_training.matmul_apply_adam(*theirs.values(), *scalars, a, b, **attrs)
        for name in start:
            close(np.asarray(ours[name].read()), theirs[name].read())
        assert out is ours["w"].read()
        for before, name in zip(held, start):  # a reader holding the old value still sees it
            np.testing.assert_array_equal(np.asarray(before), start[name])


def test_matmul_apply_adam_names_the_variable_whose_shape_the_product_misses(space):
    slots = _slots({"w": np.zeros((2, 2)), "m": np.zeros((2, 2)), "v": np.zeros((2, 2))}, space.to)
    scalars = [space.to(np.asarray(0.5)) for _ in range(6)]
    with pytest.raises(ValueError, match=r"gradient of shape \[2, 3\] does not match variable 'w' of shape \[2, 2\]"):
        space.table["_MatMulApplyAdam"](*slots.values(), *scalars, space.to(np.ones((2, 4))),
                                        space.to(np.ones((4, 3))), transpose_a=False, transpose_b=False,
                                        use_locking=False, use_nesterov=False)


def test_every_kernel_takes_its_ops_attrs_as_keyword_only_parameters():
    """The registry reads a kernel's attrs from its keyword-only parameters: they must be attrs of the op."""
    import inspect

    from tensorflux.extend import get_op_def

    for op, kernel in nn.kernels(np).items():
        params = inspect.signature(kernel).parameters.values()
        attrs = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        inputs = [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        op_def = get_op_def(op)
        assert attrs <= set(op_def.attr_defs), (op, attrs - set(op_def.attr_defs))
        assert len(inputs) == len(op_def.inputs), op
