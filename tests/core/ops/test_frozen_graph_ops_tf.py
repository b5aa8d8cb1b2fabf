"""The ops frozen inference graphs need, against TensorFlow 2.21 on the same inputs: depthwise and separable
convolution, fused batch norm (inference and training, with gradients), IdentityN and relu6.

The op-info table checks the same ops against numpy references over every dtype; here each public wrapper and
its gradients are compared with TF's own (``tf.compat.v1`` in graph mode), small shapes, float32.
"""

import numpy as np
import pytest

import tensorflux as tf

RTOL, ATOL = 1e-5, 1e-5


def _rng(seed=0):
    return np.random.default_rng(seed)


def _both(tfr, build, *arrays):
    """``build(api, *constants)`` -> list of tensors, run in TensorFlow and here: (theirs, ours)."""
    graph = tfr.Graph()
    with graph.as_default():
        fetches = build(tfr, *[tfr.constant(a) for a in arrays])
        with tfr.Session(graph=graph) as sess:
            theirs = sess.run(fetches)
    with tf.Graph().as_default(), tf.Session() as sess:
        ours = sess.run(build(tf, *[tf.constant(a) for a in arrays]))
    return theirs, ours


def _close(theirs, ours):
    assert len(theirs) == len(ours)
    for i, (t, o) in enumerate(zip(theirs, ours)):
        assert np.shape(o) == np.shape(t), f"fetch {i}: shape {np.shape(o)}, TF {np.shape(t)}"
        np.testing.assert_allclose(o, t, rtol=RTOL, atol=ATOL, err_msg=f"fetch {i}")


def _with_grads(api, y, xs, seed=1):
    """y and the gradients of sum(y * w) (w fixed, random) with respect to ``xs``."""
    w = api.constant(_rng(seed).normal(size=y.shape.as_list()).astype(np.float32))
    return [y] + api.gradients(api.reduce_sum(y * w), xs)


DEPTHWISE = [
    ((2, 7, 6, 3), (3, 3, 3, 1), [1, 1, 1, 1], "SAME", None),
    ((2, 7, 6, 3), (3, 2, 3, 2), [1, 2, 2, 1], "SAME", None),
    ((1, 8, 7, 4), (3, 3, 4, 1), [1, 2, 2, 1], "VALID", None),
    ((2, 7, 6, 3), (3, 3, 3, 2), [1, 1, 1, 1], "SAME", [2, 2]),
    ((1, 6, 6, 2), (2, 3, 2, 3), [1, 1, 1, 1], "VALID", [1, 2]),
    ((2, 7, 6, 3), (3, 3, 3, 1), [1, 2, 2, 1], [[0, 0], [1, 0], [0, 1], [0, 0]], None),
]


@pytest.mark.parametrize("x_shape, f_shape, strides, padding, rate", DEPTHWISE,
                         ids=[f"{c[3] if isinstance(c[3], str) else 'EXPLICIT'}-s{c[2][1]}-m{c[1][3]}-r{c[4]}"
                              for c in DEPTHWISE])
def test_depthwise_conv2d_and_its_gradients_match_tensorflow(tfr, x_shape, f_shape, strides, padding, rate):
    x = _rng(1).normal(size=x_shape).astype(np.float32)
    f = _rng(2).normal(size=f_shape).astype(np.float32)

    def build(api, xc, fc):
        if rate is None:
            y = api.nn.depthwise_conv2d_native(xc, fc, strides, padding)
        else:  # TF builds space-to-batch around the native op; here the op takes the dilation itself
            y = api.nn.depthwise_conv2d(xc, fc, strides, padding, rate=rate)
        return _with_grads(api, y, [xc, fc])

    _close(*_both(tfr, build, x, f))


def test_depthwise_backprop_ops_match_tensorflows_raw_ops(tfr):
    x = _rng(3).normal(size=(2, 6, 5, 3)).astype(np.float32)
    f = _rng(4).normal(size=(3, 3, 3, 2)).astype(np.float32)
    dy = _rng(5).normal(size=(2, 3, 3, 6)).astype(np.float32)
    real = pytest.importorskip("tensorflow")
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME"}
    want_dx = real.raw_ops.DepthwiseConv2dNativeBackpropInput(input_sizes=list(x.shape), filter=f, out_backprop=dy,
                                                              **attrs).numpy()
    want_df = real.raw_ops.DepthwiseConv2dNativeBackpropFilter(input=x, filter_sizes=list(f.shape), out_backprop=dy,
                                                               **attrs).numpy()
    from tensorflux.extend import apply_op

    dx = apply_op("DepthwiseConv2dNativeBackpropInput", np.array(x.shape, np.int32), f, dy, **attrs)[0]
    df = apply_op("DepthwiseConv2dNativeBackpropFilter", x, np.array(f.shape, np.int32), dy, **attrs)[0]
    _close([want_dx, want_df], tf.Session().run([dx, df]))


def test_separable_conv2d_matches_tensorflow(tfr):
    x = _rng(6).normal(size=(2, 7, 7, 3)).astype(np.float32)
    dw = _rng(7).normal(size=(3, 3, 3, 2)).astype(np.float32)
    pw = _rng(8).normal(size=(1, 1, 6, 5)).astype(np.float32)

    def build(api, xc, dc, pc):
        y = api.nn.separable_conv2d(xc, dc, pc, [1, 2, 2, 1], "SAME")
        return _with_grads(api, y, [xc, dc, pc])

    _close(*_both(tfr, build, x, dw, pw))


def test_separable_conv2d_names_its_ops_as_tensorflow():
    y = tf.nn.separable_conv2d(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 1]), tf.ones([1, 1, 2, 3]), [1, 1, 1, 1],
                               "SAME", name="sep")
    assert y.op.name == "sep" and y.op.type == "Conv2D"
    assert y.op.inputs[0].op.name == "sep/depthwise" and y.op.inputs[0].op.type == "DepthwiseConv2dNative"


@pytest.mark.parametrize("is_training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_fused_batch_norm_and_its_gradients_match_tensorflow(tfr, is_training, data_format):
    shape = (2, 5, 4, 3) if data_format == "NHWC" else (2, 3, 5, 4)
    x = _rng(9).normal(1.0, 2.0, size=shape).astype(np.float32)
    scale, offset = np.array([0.5, 1.5, -1.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32)
    mean, variance = np.array([0.8, 1.2, 0.9], np.float32), np.array([3.0, 4.5, 3.5], np.float32)

    def build(api, xc, sc, oc, mc, vc):
        stats = {} if is_training else {"mean": mc, "variance": vc}
        y, m, v = api.nn.fused_batch_norm(xc, sc, oc, epsilon=1e-3, data_format=data_format, is_training=is_training,
                                          **stats)
        return _with_grads(api, y, [xc, sc, oc]) + [m, v]

    _close(*_both(tfr, build, x, scale, offset, mean, variance))


def test_fused_batch_norm_running_averages_match_tensorflow(tfr):
    x = _rng(10).normal(size=(3, 4, 4, 2)).astype(np.float32)
    one, zero = np.ones(2, np.float32), np.zeros(2, np.float32)
    mean, variance = np.array([0.5, -0.5], np.float32), np.array([2.0, 0.5], np.float32)

    def build(api, xc, sc, oc, mc, vc):
        return list(api.nn.fused_batch_norm(xc, sc, oc, mc, vc, is_training=True, exponential_avg_factor=0.3))

    _close(*_both(tfr, build, x, one, zero, mean, variance))


@pytest.mark.parametrize("op", ["FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"])
def test_each_fused_batch_norm_version_and_its_grad_op_match_tensorflows_raw_ops(tfr, op):
    real = pytest.importorskip("tensorflow")
    x = _rng(11).normal(size=(2, 3, 3, 4)).astype(np.float32)
    scale, offset = np.linspace(0.5, 2, 4).astype(np.float32), np.linspace(-1, 1, 4).astype(np.float32)
    mean, variance = np.linspace(-0.2, 0.2, 4).astype(np.float32), np.linspace(0.5, 1.5, 4).astype(np.float32)
    dy = _rng(12).normal(size=x.shape).astype(np.float32)
    from tensorflux.extend import apply_op

    for training in (False, True):
        stats = (mean, variance) if not training else (np.zeros(0, np.float32),) * 2
        theirs = getattr(real.raw_ops, op)(x=x, scale=scale, offset=offset, mean=stats[0], variance=stats[1],
                                           epsilon=1e-3, is_training=training)
        ours = tf.Session().run(apply_op(op, x, scale, offset, *stats, epsilon=1e-3, is_training=training))
        assert len(ours) == len(theirs)
        _close([t.numpy() for t in theirs], ours)
        reserve = list(ours[3:])
        grad_op = op.replace("Norm", "NormGrad")
        theirs = getattr(real.raw_ops, grad_op)(y_backprop=dy, x=x, scale=scale, reserve_space_1=reserve[0],
                                                reserve_space_2=reserve[1], epsilon=1e-3, is_training=training,
                                                **({"reserve_space_3": reserve[2]} if op.endswith("V3") else {}))
        ours = tf.Session().run(apply_op(grad_op, dy, x, scale, *reserve, epsilon=1e-3, is_training=training))
        _close([t.numpy() for t in theirs[:3]], ours[:3])


def test_fused_batch_norm_refuses_inference_without_statistics():
    with pytest.raises(ValueError, match="mean and variance must be 1-D tensors when is_training is False"):
        tf.nn.fused_batch_norm(tf.ones([1, 2, 2, 3]), tf.ones([3]), tf.zeros([3]), is_training=False)


def test_fused_batch_norm_names_a_channel_mismatch():
    with pytest.raises(ValueError, match="scale has 4 entries but x has 3 channels"):
        tf.nn.fused_batch_norm(tf.ones([1, 2, 2, 3]), tf.ones([4]), tf.zeros([4]))


def test_identity_n_and_relu6_match_tensorflow(tfr):
    x = _rng(13).normal(0, 5, size=(3, 4)).astype(np.float32)
    ints = np.arange(5, dtype=np.int32)

    def build(api, xc, ic):
        a, b = api.identity_n([api.nn.relu6(xc), ic])
        return [a, b] + api.gradients(api.reduce_sum(a * a), [xc])

    _close(*_both(tfr, build, x, ints))


def test_depthwise_conv2d_names_the_channel_mismatch():
    with pytest.raises(ValueError, match="input has 3 channels but filter .* expects 2"):
        tf.nn.depthwise_conv2d(tf.ones([1, 4, 4, 3]), tf.ones([3, 3, 2, 1]), [1, 1, 1, 1], "SAME")
