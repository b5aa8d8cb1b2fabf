"""The cuda plugin's kernels without a GPU: which kernel each op gets, where values live, fused chains, training.

Everything runs on the test devices of sim_device.py: the plugin's own device, dispatch and kernels over
``array_api_strict`` (``cuda_strict``) or numpy (``cuda_numpy``, which has float16).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflux_cuda", reason="the tensorflux-cuda plugin is not installed")

import tensorflux as tf  # noqa: E402
from tensorflux.extend import kernels_for_device, list_devices, reference_kernels  # noqa: E402
from tensorflux.testing.opcheck import check_case  # noqa: E402
from tensorflux.testing.opinfo import OP_INFOS, case_id  # noqa: E402
from tensorflux_cuda.backend import ArrayBackend  # noqa: E402 - after the importorskip
from tensorflux_cuda.dispatch import device_kernel  # noqa: E402
from tensorflux_cuda.fusion import CompiledSegment  # noqa: E402

CUDA = "tensorflux_cuda.kernels."
REPO = Path(__file__).resolve().parents[3]
REFERENCE = "tensorflux._internal.reference."


def _selected(device_type: str, op: str, dtype):
    """The kernel placement picks for ``op`` at ``dtype``: the highest priority among those accepting it."""
    attrs = {"T": dtype, "dtype": dtype}
    fitting = [k for k in kernels_for_device(device_type) if k.op == op and k.supports(attrs)]
    return max(fitting, key=lambda k: k.priority) if fitting else None


@pytest.mark.parametrize("op, dtype, source, priority", [
    ("MatMul", tf.float32, CUDA + "math", 0), ("MatMul", tf.float64, CUDA + "math", 0),
    ("MatMul", tf.int32, REFERENCE + "math", -1), ("BatchMatMulV2", tf.float32, CUDA + "math", 0),
    ("Sum", tf.float32, CUDA + "math", 0), ("Sum", tf.int64, REFERENCE + "math", -1),
    ("Mean", tf.float64, CUDA + "math", 0), ("Conv2D", tf.float32, CUDA + "conv", 0),
    ("Conv2DBackpropInput", tf.float32, CUDA + "conv", 0), ("Conv2DBackpropFilter", tf.float64, CUDA + "conv", 0),
    ("_FusedConv2D", tf.float32, CUDA + "conv", 0), ("MaxPool", tf.float32, CUDA + "conv", 0),
    ("MaxPool", tf.int32, REFERENCE + "conv", -1), ("MaxPoolGrad", tf.float32, CUDA + "conv", 0),
    ("_FusedMaxPoolGrad", tf.float32, CUDA + "conv", 0), ("Softmax", tf.float32, CUDA + "nn", 0),
    ("LogSoftmax", tf.float32, CUDA + "nn", 0), ("SoftmaxCrossEntropyWithLogits", tf.float32, CUDA + "nn", 0),
    ("SparseSoftmaxCrossEntropyWithLogits", tf.float32, CUDA + "nn", 0), ("ApplyAdam", tf.float32, CUDA + "training", 0),
    ("_MatMulApplyAdam", tf.float32, CUDA + "training", 0), ("ApplyMomentum", tf.float32, REFERENCE + "training", -1),
    ("AddV2", tf.float32, REFERENCE + "math", -1), ("Relu", tf.float32, REFERENCE + "nn", -1),
    ("Const", tf.int32, CUDA + "array", 0), ("Const", tf.float32, CUDA + "array", 0),
    ("Shape", tf.float32, CUDA + "array", 0), ("Reshape", tf.float32, REFERENCE + "array", -1),
])
def test_each_op_gets_the_kernel_meant_for_it(sim_devices, op, dtype, source, priority):
    kdef = _selected("cuda_strict", op, dtype)
    assert kdef is not None, f"no kernel for {op} at {dtype.name}"
    assert kdef.source.startswith(source) and kdef.priority == priority, (kdef.source, kdef.priority)
    # device kernels go through the dispatcher; Const and Shape decide where values live themselves
    assert getattr(kdef.fn, "cuda_dispatch", False) == (source != CUDA + "array"), kdef.source


def test_host_work_runs_as_core_wrote_it_and_float16_only_where_the_namespace_has_it(sim_devices):
    py_func = next(k for k in kernels_for_device("cuda_strict") if k.op == "PyFunc")
    assert not getattr(py_func.fn, "cuda_dispatch", False)  # host work: it copies to the host itself
    assert _selected("cuda_strict", "Conv2D", tf.float16) is None  # array_api_strict has no float16
    assert _selected("cuda_numpy", "Conv2D", tf.float16).source.startswith(CUDA + "conv")
    assert _selected("cuda_strict", "MatMul", tf.bfloat16) is None  # nor has cupy: bfloat16 ops run on the cpu


class CountingBackend(ArrayBackend):
    """The strict backend, counting copies to the device."""

    def __init__(self) -> None:
        import array_api_strict

        super().__init__(array_api_strict)
        self.uploads: list = []

    def upload(self, host, index):
        self.uploads.append(np.asarray(host).tolist())
        return super().upload(host, index)


def test_shape_arithmetic_runs_on_the_host_and_data_ops_get_device_arrays():
    backend = CountingBackend()
    xp, table = backend.xp, reference_kernels(backend.xp)
    host = reference_kernels(np)
    mul = device_kernel("Mul", table["Mul"], backend, host["Mul"])
    got = mul(np.array([2, 3], np.int32), np.array(4, np.int32))
    assert isinstance(got, np.ndarray) and got.tolist() == [8, 12] and backend.uploads == []
    reshape = device_kernel("Reshape", table["Reshape"], backend, host["Reshape"])
    x = xp.reshape(xp.arange(6, dtype=xp.float32), (2, 3))
    y = reshape(x, np.array([3, 2], np.int32))  # the shape stays a host value: nothing uploaded, nothing waited for
    assert not isinstance(y, np.ndarray) and tuple(y.shape) == (3, 2) and backend.uploads == []
    add = device_kernel("AddV2", table["AddV2"], backend, host["AddV2"])
    z = add(x, np.array(1.0, np.float32))  # a host operand of a data op is copied in first
    assert np.from_dlpack(z).tolist() == [[1, 2, 3], [4, 5, 6]] and backend.uploads == [1.0]


def test_in_a_graph_only_feeds_and_fetches_cross_and_shapes_never_leave_the_host(sim_devices):
    device = next(d for d in list_devices() if d.device_type == "cuda_strict")
    crossings = {"to device": 0, "to host": 0}
    upload, download = device.backend.upload, device.backend.download

    def counting_upload(host, index):
        crossings["to device"] += 1
        return upload(host, index)

    def counting_download(value):
        crossings["to host"] += 1
        return download(value)

    x = tf.placeholder(tf.float32, [None, 3, 4])
    with tf.device("/cuda_strict:0"):
        flat = tf.reshape(x, tf.stack([tf.shape(x)[0], -1]))
        total = tf.reduce_sum(flat * 2.0, axis=tf.size(tf.shape(flat)) - 1)
        mean = tf.reduce_mean(tf.nn.softmax(flat), axis=[0, 1])
    value = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    with tf.Session() as sess:
        sess.run([total, mean], {x: value})  # compile the plan (constants go to the device once, here)
        try:
            device.backend.upload, device.backend.download = counting_upload, counting_download
            got_total, got_mean = sess.run([total, mean], {x: value})
        finally:
            device.backend.upload, device.backend.download = upload, download
    np.testing.assert_allclose(got_total, value.reshape(2, -1).sum(axis=1) * 2, rtol=1e-6)
    assert got_mean.shape == () and abs(float(got_mean) - 1.0 / 12) < 1e-6
    assert crossings == {"to device": 1, "to host": 2}, crossings  # the feed in; the two fetches out


def test_a_training_step_of_the_mnist_cnn_never_waits_for_the_device_but_for_its_fetch(sim_devices, monkeypatch):
    """Every host read of a device value (a shape, an axis, a flag) would stop a GPU until its queue drains."""
    import importlib.util

    import array_api_strict

    spec = importlib.util.spec_from_file_location("mnist_cnn_example", REPO / "examples" / "mnist_cnn.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with tf.device("/cuda_strict:0"):
        x, labels = tf.placeholder(tf.float32, [None, 784]), tf.placeholder(tf.float32, [None, 10])
        logits, keep_prob = example.deepnn(x)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = tf.train.AdamOptimizer(1e-3).minimize(loss)
    rng = np.random.default_rng(0)
    feed = {x: rng.random((2, 784), dtype=np.float32), labels: np.eye(10, dtype=np.float32)[[3, 7]], keep_prob: 0.5}
    reads = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([train, loss], feed)  # the first run compiles the plan
        array = type(array_api_strict.asarray(0))
        for name in ("__int__", "__float__", "__bool__", "__index__"):
            original = getattr(array, name)
            monkeypatch.setattr(array, name, lambda self, *a, _n=name, _f=original: reads.append(_n) or _f(self, *a))
        _, got = sess.run([train, loss], feed)
    assert reads == [] and np.isfinite(got)


def _compiled_segments(sess) -> list:
    return [step[0] for plan, _ in sess._plans.values() for step in plan.steps if isinstance(step[0], CompiledSegment)]


def test_an_elementwise_chain_becomes_one_program_that_computes_what_the_ops_do(sim_devices):
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [None, 5])
    with tf.device("/cuda_strict:0"):
        w = tf.constant(rng.normal(size=5).astype(np.float32))
        b = tf.constant(rng.normal(size=5).astype(np.float32))
        y = tf.square(tf.tanh(tf.nn.relu(x * w + b)) - 0.5)
        other = tf.exp(x)  # read by the fetch: never swallowed into the chain
    value = rng.normal(size=(4, 5)).astype(np.float32)
    with tf.Session() as sess:
        got, got_other = sess.run([y, other], {x: value})
        segments = _compiled_segments(sess)
    w_, b_ = sess.graph.get_operations()[1].attrs["value"], sess.graph.get_operations()[2].attrs["value"]
    want = np.square(np.tanh(np.maximum(value * w_ + b_, 0)) - 0.5)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got_other, np.exp(value), rtol=1e-6)
    groups = [step for segment in segments for kind, step in segment.steps if kind == "group"]
    assert [[op.type for op in g.ops] for g in groups] == [["Mul", "AddV2", "Relu", "Tanh", "Sub", "Square"]]


def test_an_error_inside_a_compiled_segment_names_its_op(sim_devices):
    x = tf.placeholder(tf.float32, [None, 4])
    with tf.device("/cuda_strict:0"):
        y = tf.reshape(tf.exp(x) * 2.0 + 1.0, [3, -1], name="bad_reshape") + 1.0
    with tf.Session() as sess, pytest.raises(tf.errors.OpError, match="bad_reshape"):
        sess.run(y, {x: np.ones((2, 4), np.float32)})


def _train_cnn(where: str, steps: int = 3) -> list:
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(3)
        rng = np.random.default_rng(3)
        images = tf.constant(rng.random((4, 8, 8, 1)))
        labels = tf.constant(np.eye(3)[rng.integers(0, 3, 4)])
        with tf.device(where):
            w1 = tf.Variable(tf.truncated_normal([3, 3, 1, 4], stddev=0.3, dtype=tf.float64))
            b1 = tf.Variable(tf.fill([4], tf.constant(0.1, tf.float64)))
            h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(images, w1, [1, 1, 1, 1], "SAME") + b1), [1, 2, 2, 1],
                               [1, 2, 2, 1], "SAME")
            w2 = tf.Variable(tf.truncated_normal([4 * 4 * 4, 3], stddev=0.3, dtype=tf.float64))
            logits = tf.matmul(tf.reshape(h, [-1, 4 * 4 * 4]), w2)
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            step = tf.train.AdamOptimizer(0.05).minimize(loss)
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(step)
            # the fused kernels the plan runs (the fusion pass wraps each so that its errors name the op)
            fused = {getattr(s[0].fn, "func", s[0].fn).__name__ for plan, _ in sess._plans.values()
                     for s in plan.steps if type(s[0]).__name__ == "Blame"}
            return sess.run([w1, b1, w2, loss]), fused


def test_a_cnn_with_adam_trains_on_the_cuda_kernels_as_on_the_cpu(sim_devices):
    """Fused conv + bias + relu + pool, its gradients, the fused softmax cross-entropy and the Adam program."""
    on_device, fused = _train_cnn("/cuda_strict:0")
    assert fused == {"fused_conv2d", "fused_max_pool_grad", "matmul_apply_adam"}, fused
    for got, want in zip(on_device, _train_cnn("/cpu:0")[0]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# float16, which array_api_strict lacks: the plugin's own float kernels on cuda_numpy against the op table
_FAST = {"MatMul", "BatchMatMulV2", "Sum", "Mean", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool",
         "MaxPoolGrad", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits", "_FusedConv2D", "_FusedMaxPoolGrad"}
_HALF_CASES = [pytest.param(info, shapes, attrs, id=case_id(info, tf.float16, shapes, attrs))
               for info in OP_INFOS if info.op in _FAST and tf.float16 in info.dtypes
               for dtype, shapes, attrs in info.cases() if dtype == tf.float16][::3]


@pytest.mark.parametrize("info, shapes, attrs", _HALF_CASES)
def test_the_float_kernels_compute_float16_in_float32(sim_devices, info, shapes, attrs):
    check_case(info, tf.float16, shapes, attrs, ("/cuda_numpy:0", "cuda_numpy"))
