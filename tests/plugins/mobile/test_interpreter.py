"""The Interpreter's TF Lite API: details, resizing, errors, and the per-invoke overhead of the compiled plan."""

import time

import numpy as np
import pytest

from tensorflux_mobile import Interpreter
from tensorflux_mobile.flatbuffer_io import read_model, write_model
from tensorflux_mobile.model import Model


def five_op_model() -> bytes:
    """x[1, 8] -> FULLY_CONNECTED(relu) -> ADD const -> MUL const -> LOGISTIC -> SOFTMAX."""
    rng = np.random.default_rng(0)
    m = Model()
    x = m.add_tensor("x", (-1, 8), np.float32)
    w = m.add_constant("w", rng.normal(size=(4, 8)).astype(np.float32))
    b = m.add_constant("b", np.zeros(4, np.float32))
    h = [m.add_tensor(f"h{i}", (-1, 4), np.float32) for i in range(5)]
    m.add_op("FULLY_CONNECTED", [x, w, b], [h[0]], activation="RELU")
    m.add_op("ADD", [h[0], m.add_constant("c", np.ones(4, np.float32))], [h[1]], activation="NONE")
    m.add_op("MUL", [h[1], m.add_constant("d", np.full(4, 0.5, np.float32))], [h[2]], activation="NONE")
    m.add_op("LOGISTIC", [h[2]], [h[3]])
    m.add_op("SOFTMAX", [h[3]], [h[4]], beta=1.0)
    m.inputs, m.outputs = [x], [h[4]]
    return write_model(m)


def test_details_and_values_follow_tf_lites_api(litert):
    data = five_op_model()
    ours, theirs = Interpreter(model_content=data), litert(model_content=data)
    for it in (ours, theirs):
        it.allocate_tensors()
    for mine, ref in zip(ours.get_input_details() + ours.get_output_details(),
                         theirs.get_input_details() + theirs.get_output_details()):
        for key in ("name", "index", "dtype", "quantization"):
            assert mine[key] == ref[key], key
        assert mine["shape"].tolist() == ref["shape"].tolist()
        assert mine["shape_signature"].tolist() == ref["shape_signature"].tolist()
    x = np.random.default_rng(1).normal(size=(1, 8)).astype(np.float32)
    out = []
    for it in (ours, theirs):
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        out.append(it.get_tensor(it.get_output_details()[0]["index"]))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)


def test_resize_then_allocate_gives_the_new_batch():
    it = Interpreter(model_content=five_op_model())
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, [5, 8])
    it.allocate_tensors()
    assert it.get_output_details()[0]["shape"].tolist() == [5, 4]
    it.set_tensor(index, np.zeros((5, 8), np.float32))
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]).sum(axis=1), 1, rtol=1e-6)


def test_errors_say_what_was_expected(tmp_path):
    it = Interpreter(model_content=five_op_model())
    with pytest.raises(RuntimeError, match="allocate_tensors"):
        it.invoke()
    it.allocate_tensors()
    with pytest.raises(ValueError, match="float64 but expected type float32 for input 0, name: x"):
        it.set_tensor(0, np.zeros((1, 8)))
    with pytest.raises(ValueError, match=r"got \[2, 8\] but expected \[1, 8\]"):
        it.set_tensor(0, np.zeros((2, 8), np.float32))
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="bad.tflite.*TFL3"):
        Interpreter(model_path=str(bad))
    with pytest.raises(ValueError, match="exactly one"):
        Interpreter()


def test_flatbuffer_round_trip_keeps_everything():
    m = read_model(five_op_model())
    again = read_model(write_model(m))
    assert [(op.code, op.inputs, op.outputs, op.options, op.version) for op in m.ops] == \
           [(op.code, op.inputs, op.outputs, op.options, op.version) for op in again.ops]
    for a, b in zip(m.tensors, again.tensors):
        assert (a.name, a.shape, a.dtype) == (b.name, b.shape, b.dtype)
        assert (a.data is None) == (b.data is None) and (a.data is None or np.array_equal(a.data, b.data))


def test_invoke_overhead_on_a_five_op_graph_is_under_50_microseconds():
    it = Interpreter(model_content=five_op_model())
    it.allocate_tensors()
    it.set_tensor(0, np.ones((1, 8), np.float32))
    for _ in range(200):
        it.invoke()
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(500):
            it.invoke()
        times.append((time.perf_counter() - start) / 500)
    # The median of seven rounds; a loaded machine (the suite runs in parallel) gets a factor of two.
    assert sorted(times)[3] < 100e-6, f"median invoke {sorted(times)[3] * 1e6:.1f} us"
