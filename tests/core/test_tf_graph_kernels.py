"""The ops only graphs TF wrote use, run here against TensorFlow's own kernels (the reference): ``BroadcastGradientArgs``
and the stateless random ops of TF 2's initializers (Philox, bit for bit). Skipped, with the reason, where TensorFlow
is not installed, except the Philox known-answer test, which needs nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.op_builder import apply_op
from tensorflux._internal.philox import philox_blocks


def test_philox_matches_random123_known_answers():
    # Random123's kat_vectors for philox4x32_10: the all-ones counter and key, and the pi-digits one.
    ones = philox_blocks((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF,) * 4, 1)[0]
    assert [int(w) for w in ones] == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    pi = philox_blocks((0xA4093822, 0x299F31D0), (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), 1)[0]
    assert [int(w) for w in pi] == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


@pytest.mark.parametrize("s0,s1", [([2, 3, 5], [1]), ([4, 1], [1, 6]), ([3], [2, 3]), ([], [2, 2]), ([1, 1], [1, 1]),
                                   ([7, 1, 3], [7, 4, 3])])
def test_broadcast_gradient_args_reduce_as_tf(tfr, s0, s1):
    import tensorflow

    want = tensorflow.raw_ops.BroadcastGradientArgs(s0=np.array(s0, np.int32), s1=np.array(s1, np.int32))
    r0, r1 = apply_op("BroadcastGradientArgs", np.array(s0, np.int32), np.array(s1, np.int32))
    got = tf.Session().run([r0, r1])
    # Summing a size-1 axis changes nothing, so where both operands have size 1 either answer is right.
    out = np.broadcast_shapes(tuple(s0), tuple(s1))
    for g, w in zip(got, want):
        assert {a for a in g.tolist() if out[a] != 1} == {a for a in w.numpy().tolist() if out[a] != 1}


def test_broadcast_gradient_args_names_incompatible_shapes():
    r0, _ = apply_op("BroadcastGradientArgs", np.array([2, 3], np.int32), np.array([4], np.int32), name="bga")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"op 'bga'.*incompatible shapes \[2, 3\] and \[4\]"):
        tf.Session().run(r0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("seed", [[1, 2], [-7, 123456789]])
def test_stateless_uniform_draws_tf_values(tfr, dtype, seed):
    import tensorflow

    key, counter = tensorflow.raw_ops.StatelessRandomGetKeyCounter(seed=np.array(seed, np.int32))
    want = tensorflow.raw_ops.StatelessRandomUniformV2(shape=[3, 5], key=key, counter=counter, alg=3,
                                                       dtype=getattr(tensorflow, dtype)).numpy()
    k, c = apply_op("StatelessRandomGetKeyCounter", np.array(seed, np.int32))
    drawn = apply_op("StatelessRandomUniformV2", np.array([3, 5], np.int32), k, c, np.int32(3), dtype=dtype)[0]
    assert drawn.shape.as_list() == [3, 5]
    got_key, got_counter, got = tf.Session().run([k, c, drawn])
    np.testing.assert_array_equal(got_key, key.numpy())
    np.testing.assert_array_equal(got_counter, counter.numpy())
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))


@pytest.mark.parametrize("op", ["StatelessRandomNormalV2", "StatelessTruncatedNormalV2"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("seed,shape", [([1, 2], [3, 5]), ([-7, 123456789], [97, 41])])
def test_stateless_normals_draw_tf_values(tfr, op, dtype, seed, shape):
    import tensorflow

    key, counter = tensorflow.raw_ops.StatelessRandomGetKeyCounter(seed=np.array(seed, np.int32))
    want = getattr(tensorflow.raw_ops, op)(shape=shape, key=key, counter=counter, alg=3,
                                           dtype=getattr(tensorflow, dtype)).numpy()
    k, c = apply_op("StatelessRandomGetKeyCounter", np.array(seed, np.int32))
    drawn = apply_op(op, np.array(shape, np.int64), k, c, np.int32(1), dtype=dtype)[0]  # alg 1: Philox by name
    assert drawn.shape.as_list() == shape
    got = tf.Session().run(drawn)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))  # bit for bit
    if op == "StatelessTruncatedNormalV2":
        assert np.abs(got.astype(np.float64)).max() <= 2.0


def test_tf_keras_normal_initializers_in_a_tf_graph_draw_tf_values(tfr):
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.keras is tf-keras, whose seeded initializers are stateless
    import tensorflow

    keras = tensorflow.keras.initializers
    graph = tfr.Graph()
    with graph.as_default():
        for name, init in (("normal", keras.RandomNormal(seed=3)), ("truncated", keras.TruncatedNormal(seed=4)),
                           ("he", keras.HeNormal(seed=5))):
            tfr.identity(init([40, 30]), name=name)
        types = {op.type for op in graph.get_operations()}
        with tfr.Session() as sess:
            want = sess.run(["normal:0", "truncated:0", "he:0"])
    if not {"StatelessRandomNormalV2", "StatelessTruncatedNormalV2"} <= types:
        pytest.skip(f"this TensorFlow's initializers draw with {sorted(t for t in types if 'Random' in t)}, not the "
                    "stateless V2 ops")
    with tf.Graph().as_default():
        tf.import_graph_def(graph.as_graph_def().SerializeToString(), name="")
        got = tf.Session().run(["normal:0", "truncated:0", "he:0"])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype, lo, hi", [("int32", -5, 100), ("int32", -2**31, 2**31 - 1), ("int64", -5, 10**12),
                                           ("int64", -2**63, 2**63 - 1)])
@pytest.mark.parametrize("seed", [[1, 2], [-7, 123456789]])
def test_stateless_uniform_ints_draw_tf_values(tfr, dtype, lo, hi, seed):
    import tensorflow

    key, counter = tensorflow.raw_ops.StatelessRandomGetKeyCounter(seed=np.array(seed, np.int32))
    np_type = getattr(np, dtype)
    want = tensorflow.raw_ops.StatelessRandomUniformIntV2(shape=[7, 9], key=key, counter=counter, alg=1,
                                                          minval=np_type(lo), maxval=np_type(hi)).numpy()
    k, c = apply_op("StatelessRandomGetKeyCounter", np.array(seed, np.int32))
    drawn = apply_op("StatelessRandomUniformIntV2", np.array([7, 9], np.int32), k, c, np.int32(3), np_type(lo),
                     np_type(hi))[0]
    assert drawn.dtype.name == dtype and drawn.shape.as_list() == [7, 9]
    got = tf.Session().run(drawn)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32", "uint64"])
def test_stateless_full_range_ints_draw_tf_values(tfr, dtype):
    import tensorflow

    key, counter = tensorflow.raw_ops.StatelessRandomGetKeyCounter(seed=np.array([3, -4], np.int64))
    want = tensorflow.raw_ops.StatelessRandomUniformFullIntV2(shape=[5, 3], key=key, counter=counter, alg=3,
                                                              dtype=getattr(tensorflow, dtype)).numpy()
    k, c = apply_op("StatelessRandomGetKeyCounter", np.array([3, -4], np.int64))
    drawn = apply_op("StatelessRandomUniformFullIntV2", np.array([5, 3], np.int64), k, c, np.int32(1), dtype=dtype)[0]
    got = tf.Session().run(drawn)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("lo, hi", [(5, 5), (6, 5)])
def test_a_stateless_int_range_must_not_be_empty(lo, hi):
    k, c = apply_op("StatelessRandomGetKeyCounter", np.array([1, 2], np.int32))
    drawn = apply_op("StatelessRandomUniformIntV2", np.array([4], np.int32), k, c, np.int32(1), np.int32(lo),
                     np.int32(hi), name="ints")[0]
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"op 'ints'.*Need minval < maxval, got {lo} >= {hi}"):
        tf.Session().run(drawn)


def test_threefry_is_refused_naming_the_algorithm():
    # TF's CPU kernels draw with Philox only ("Unsupported algorithm id: 2"); so does Tensorflux, with a clear error.
    k, c = apply_op("StatelessRandomGetKeyCounter", np.array([1, 2], np.int32))
    drawn = apply_op("StatelessRandomUniformFullIntV2", np.array([4], np.int32), k, c, np.int32(2), dtype="uint32",
                     name="bits")[0]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"op 'bits'.*algorithm 2 is not supported.*Philox"):
        tf.Session().run(drawn)
