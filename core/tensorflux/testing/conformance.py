"""The device conformance suite: ``pytest --pyargs tensorflux.testing.conformance --device TYPE``.

For every op in the op-info table whose kernel the device claims, it checks results against numpy
over broadcasting, scalar, empty and large-value cases for each claimed dtype, and gradients at
float64. It also checks copies, device-resident variables, and failure behaviour.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import kernels_for_device, list_devices
from tensorflux.testing.opinfo import OP_INFOS, TOLERANCE, OpInfo, make_input, reference_result
from tensorflux.testing.pytest_plugin import record


def _cases() -> list:
    cases = []
    for info in OP_INFOS:
        for dtype in info.dtypes:
            for shapes in info.shapes:
                shapes = shapes if info.arity > 1 else (shapes,)
                cases.append(pytest.param(info, dtype, shapes, id=f"{info.op}-{dtype.name}-{'x'.join(map(str, shapes))}"))
    return cases


def _claims(device: str, op: str, dtype: Any) -> bool:
    for k in kernels_for_device(device):
        if k.op == op and (k.dtypes is None or dtype in k.dtypes):
            return True
    return False


def _device_name(device: str) -> str:
    names = [d.name for d in list_devices() if d.device_type == device]
    if not names:
        pytest.skip(f"no '{device}' device is available (installed devices: {[d.name for d in list_devices()]})")
    return names[0]


def _run(info: OpInfo, dtype: Any, inputs: list, device: str) -> np.ndarray:
    graph = tf.Graph()
    with graph.as_default():
        phs = [tf.placeholder(dtype, x.shape) for x in inputs]
        with tf.device(_device_name(device)):
            out = info.fn(*phs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with tf.Session(graph=graph) as sess:
                return sess.run(out, dict(zip(phs, inputs)))


def _assert_close(actual: Any, expected: np.ndarray, dtype: Any, what: str) -> None:
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    if dtype.name in TOLERANCE and actual.dtype.kind not in "biu":
        rtol, atol = TOLERANCE[dtype.name]
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected.astype(actual.dtype), err_msg=what)


@pytest.mark.parametrize("info, dtype, shapes", _cases())
def test_op_matches_reference(info: OpInfo, dtype: Any, shapes: tuple, device: str) -> None:
    if not _claims(device, info.op, dtype):
        record(info.op, dtype.name, "no kernel", device)
        pytest.skip(f"device '{device}' claims no kernel for {info.op} at {dtype.name}")
    rng = np.random.default_rng(abs(hash((info.op, dtype.name, shapes))) % 2**32)
    inputs = [make_input(s, dtype, info.domain, rng) for s in shapes]
    _assert_close(_run(info, dtype, inputs, device), reference_result(info, inputs), dtype,
                  f"{info.op} at {dtype.name} on {device}")
    if info.large_values and dtype.is_floating:
        big = [make_input(s, dtype, info.domain, rng, scale=1e3 if dtype.name != "float16" else 3e1) for s in shapes]
        _assert_close(_run(info, dtype, big, device), reference_result(info, big), dtype,
                      f"{info.op} at {dtype.name} on {device} with large values")
    record(info.op, dtype.name, "tested", device)


@pytest.mark.parametrize("info", [i for i in OP_INFOS if i.differentiable and tf.float64 in i.dtypes], ids=lambda i: i.op)
def test_gradient_matches_numeric(info: OpInfo, device: str) -> None:
    from tensorflux.test import compute_gradient_error

    if not _claims(device, info.op, tf.float64):
        pytest.skip(f"device '{device}' claims no float64 kernel for {info.op}")
    shapes = [s for s in info.shapes if all(np.prod(x) > 0 for x in (s if info.arity > 1 else (s,)))][-1]
    shapes = shapes if info.arity > 1 else (shapes,)
    rng = np.random.default_rng(7)
    graph = tf.Graph()
    with graph.as_default():
        values = [make_input(s, tf.float64, info.domain, rng) for s in shapes]
        xs = [tf.constant(v) for v in values]
        with tf.device(_device_name(device)):
            y = info.fn(*xs)
        with tf.Session(graph=graph):
            err = compute_gradient_error(xs, [list(s) for s in shapes], y, y.shape.as_list(), x_init_value=values)
    assert err < 1e-6, f"gradient of {info.op} on {device} differs from the numeric gradient by {err}"


def test_copies_round_trip_through_device(device: str) -> None:
    name = _device_name(device)
    value = np.arange(12, dtype=np.float32).reshape(3, 4)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [3, 4])
        with tf.device(name):
            y = tf.identity(x)
        z = tf.identity(y)
        with tf.Session(graph=graph) as sess:
            a, b = sess.run([y, z], {x: value})
    np.testing.assert_array_equal(a, value)
    np.testing.assert_array_equal(b, value)


def test_variables_live_on_device_across_runs(device: str) -> None:
    name = _device_name(device)
    graph = tf.Graph()
    with graph.as_default():
        with tf.device(name):
            v = tf.Variable(np.ones(4, np.float32), name="v")
            step = v.assign_add(np.full(4, 2, np.float32))
        with tf.Session(graph=graph) as sess:
            sess.run(v.initializer)
            for _ in range(3):
                sess.run(step)
            assert sess.state.variables["v"].device.name == name
            np.testing.assert_array_equal(sess.run(v), np.full(4, 7, np.float32))


def test_unsupported_dtype_is_reported_not_miscomputed(device: str) -> None:
    name = _device_name(device)
    pairs = [(i, d) for i in OP_INFOS for d in i.dtypes if not _claims(device, i.op, d)
             and any(k.op == i.op for k in kernels_for_device(device))]
    if not pairs:
        pytest.skip(f"every kernel on '{device}' claims every dtype its op admits; nothing to check")
    info, dtype = pairs[0]
    shapes = info.shapes[0] if info.arity > 1 else (info.shapes[0],)
    inputs = [make_input(s, dtype, info.domain, np.random.default_rng(0)) for s in shapes]
    graph = tf.Graph()
    with graph.as_default():
        phs = [tf.placeholder(dtype, x.shape) for x in inputs]
        with tf.device(name):
            out = info.fn(*phs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = tf.Session(graph=graph).run(out, dict(zip(phs, inputs)))
    assert any(info.op in str(w.message) for w in caught), f"no fallback reported for {info.op} at {dtype.name}"
    _assert_close(result, reference_result(info, inputs), dtype, f"{info.op} fallback")


def test_out_of_memory_is_an_error(device: str) -> None:
    name = _device_name(device)
    graph = tf.Graph()
    with graph.as_default():
        with tf.device(name):
            huge = tf.fill([2**24, 2**24], 1.0, name="huge_fill")
        with pytest.raises(tf.errors.OpError, match="huge_fill"):
            tf.Session(graph=graph).run(huge)
