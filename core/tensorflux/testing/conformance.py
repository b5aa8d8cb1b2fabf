"""The device conformance suite: ``pytest --pyargs tensorflux.testing.conformance --device TYPE``.

For every case of the op-info table (``tensorflux.testing.opinfo``) whose kernels the device claims,
it checks results against numpy over broadcasting, scalar, empty and large-value cases for each
claimed dtype (random ops by distribution, updates through variables, summaries by parsing them), the
fused ops of the plugin contract against their unfused composition, and gradients at float64. A case
that needs a kernel the device does not claim is skipped, naming it. It also checks copies,
device-resident variables, and failure behaviour.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import list_devices
from tensorflux.testing.opcheck import (
    NotApplicable,
    assert_close,
    build,
    case_inputs,
    check_case,
    claims,
    gradient_case,
    gradient_error,
)
from tensorflux.testing.opinfo import OP_INFOS, OpInfo, case_id, reference_result
from tensorflux.testing.pytest_plugin import record


def _cases() -> list:
    return [pytest.param(info, dtype, shapes, attrs, id=case_id(info, dtype, shapes, attrs))
            for info in OP_INFOS for dtype, shapes, attrs in info.cases()]


def _device_name(device: str) -> str:
    names = [d.name for d in list_devices() if d.device_type == device]
    if not names:
        pytest.skip(f"no '{device}' device is available (installed devices: {[d.name for d in list_devices()]})")
    return names[0]


@pytest.mark.parametrize("info, dtype, shapes, attrs", _cases())
def test_op_matches_reference(info: OpInfo, dtype: Any, shapes: Any, attrs: dict, device: str) -> None:
    name = _device_name(device)
    if not claims(device, info.op, None, any_dtype=True):
        record(info.op, dtype.name, "no kernel", device)
        pytest.skip(f"device '{device}' has no kernel for {info.op}")
    try:
        check_case(info, dtype, shapes, attrs, (name, device))
    except NotApplicable as exc:
        record(info.op, dtype.name, "no kernel", device)
        pytest.skip(str(exc))
    record(info.op, dtype.name, "tested", device)


# One gradient check per op (its first differentiable entry): the device's kernels under a gradient graph.
# Core's own op tests check the gradient of every case.
_GRADIENT_CASES = list({info.op: (info, gradient_case(info)) for info in reversed(OP_INFOS)
                        if gradient_case(info) is not None}.values())[::-1]


@pytest.mark.parametrize("info, case", _GRADIENT_CASES, ids=[case_id(i, *c) for i, c in _GRADIENT_CASES])
def test_gradient_matches_numeric(info: OpInfo, case: tuple, device: str) -> None:
    name = _device_name(device)
    _, shapes, attrs = case
    try:
        err = gradient_error(info, shapes, attrs, (name, device))
    except NotApplicable as exc:
        pytest.skip(f"gradient of {info.label}: {exc}")
    assert err < 1e-6, f"gradient of {info.label} on {device} differs from the numeric gradient by {err}"


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
    pairs = [(i, d) for i in OP_INFOS if i.kind == "value" for d in i.dtypes if not claims(device, i.op, d)
             and claims(device, i.op, None, any_dtype=True)]
    if not pairs:
        pytest.skip(f"every kernel on '{device}' claims every dtype its op admits; nothing to check")
    info, dtype = pairs[0]
    shapes, attrs = info.shapes[0], info.attrs[0]
    inputs = case_inputs(info, dtype, shapes, attrs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph, placeholders, fetch = build(info, dtype, inputs, attrs, (name, device), strict=False)
        result = tf.Session(graph=graph).run(fetch, dict(zip(placeholders, inputs)))
    assert any(info.op in str(w.message) for w in caught), f"no fallback reported for {info.op} at {dtype.name}"
    assert_close(result, reference_result(info, inputs, attrs, dtype), f"{info.label} fallback")


def test_out_of_memory_is_an_error(device: str) -> None:
    name = _device_name(device)
    graph = tf.Graph()
    with graph.as_default():
        with tf.device(name):
            huge = tf.fill([2**24, 2**24], 1.0, name="huge_fill")
        with pytest.raises(tf.errors.OpError, match="huge_fill"):
            tf.Session(graph=graph).run(huge)
