"""Helpers shared by the mobile plugin's tests: running a .tflite file in our interpreter or in LiteRT."""

import numpy as np
import pytest


def run_tflite(interpreter_cls, data: bytes, x: np.ndarray, **kwargs) -> np.ndarray:
    """Feed ``x`` to the single input (resized to its batch) and return the first output."""
    it = interpreter_cls(model_content=data, **kwargs)
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, list(x.shape))
    it.allocate_tensors()
    it.set_tensor(index, x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.fixture
def litert():
    """LiteRT's interpreter class (skips, saying why, where ai-edge-litert is not installed)."""
    module = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (LiteRT) is not installed")
    return module.Interpreter


def output_scale(data: bytes) -> float:
    """The scale of the int8 tensor the model's float output is dequantized from."""
    from tensorflux_mobile.flatbuffer_io import read_model

    m = read_model(data)
    producer = m.producers()[m.outputs[0]]
    return float(m.tensors[producer.inputs[0]].scale[0])
