"""Scans, reversals, n-d gathers and scatters, broadcast_to, the diagonal and band ops and the array composites
(eye, linspace, meshgrid, sequence_mask, boolean_mask, segment sums), values and gradients against TensorFlow
2.21's tf.compat.v1.

The op-info table checks every dtype against numpy references; here TF's own values and gradients on the same
inputs, the graphs TF builds for the composites, and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))
CUBE = RNG.normal(size=(2, 3, 4))


def _run_both(tfr, build, *arrays):
    """``build(api, *constants)`` -> list of tensors, run in TensorFlow and here on the same arrays."""
    graph = tfr.Graph()
    with graph.as_default():
        fetches = build(tfr, *[tfr.constant(a) for a in arrays])
        with tfr.Session(graph=graph) as sess:
            theirs = sess.run(fetches)
    with tf.Graph().as_default(), tf.Session() as sess:
        ours = sess.run(build(tf, *[tf.constant(a) for a in arrays]))
    return theirs, ours


def _assert_close(theirs, ours, rtol=1e-12, atol=1e-12):
    assert len(theirs) == len(ours)
    for i, (t, o) in enumerate(zip(theirs, ours)):
        t, o = np.asarray(t), np.asarray(o)
        assert o.dtype == t.dtype and o.shape == t.shape, f"fetch {i}: {o.dtype}{o.shape}, TF {t.dtype}{t.shape}"
        np.testing.assert_allclose(o, t, rtol=rtol, atol=atol, err_msg=f"fetch {i}")


def _with_grads(api, ys, xs):
    """``ys`` and the gradients of sum(y * w) over them (fixed weights w) with respect to ``xs``."""
    total = api.add_n([api.reduce_sum(y * np.linspace(0.5, 1.5, int(np.prod(y.shape.as_list()))).reshape(
        y.shape.as_list())) for y in ys])
    return list(ys) + api.gradients(total, xs)


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_and_cumprod_with_gradients_match_tensorflow(tfr, exclusive, reverse):
    def build(api, x):
        ys = [api.cumsum(x, 1, exclusive=exclusive, reverse=reverse),
              api.math.cumprod(x, -1, exclusive=exclusive, reverse=reverse),
              api.cumsum(x, 0, exclusive=exclusive, reverse=reverse)]
        return _with_grads(api, ys, [x])

    _assert_close(*_run_both(tfr, build, X))


def test_reverse_and_reverse_sequence_with_gradients_match_tensorflow(tfr):
    def build(api, x):
        ys = [api.reverse(x, [0, 2]), api.reverse_v2(x, [-1]), api.reverse(x, []),
              api.reverse_sequence(x, [3, 0], seq_axis=2, batch_axis=0),
              api.reverse_sequence(x, np.array([1, 2, 0], np.int32), seq_axis=0, batch_axis=1)]
        return _with_grads(api, ys, [x])

    _assert_close(*_run_both(tfr, build, CUBE))


def test_gather_nd_scatter_nd_and_tensor_scatters_with_gradients_match_tensorflow(tfr):
    rows = np.array([[2], [0], [2]], np.int32)
    pairs = np.array([[1, 3], [0, 0], [1, 3]], np.int64)

    def build(api, x, u):
        # (TF's own gradient of a depth-0 gather_nd fails, so that one is compared by value only.)
        whole = api.stop_gradient(api.gather_nd(x, np.zeros((2, 0), np.int32)))
        ys = [api.gather_nd(x, rows), api.gather_nd(x, pairs), whole, api.scatter_nd(rows, u, [4, 4]),
              api.scatter_nd(pairs, u[:, 0], np.array([2, 5], np.int64)),
              api.tensor_scatter_update(x, [[1], [0]], u[:2]), api.tensor_scatter_nd_add(x, rows, u),
              api.tensor_scatter_sub(x, pairs, u[:, 1])]
        return _with_grads(api, ys, [x, u])

    _assert_close(*_run_both(tfr, build, X, RNG.normal(size=(3, 4))))


def test_broadcast_to_and_its_gradient_match_tensorflow(tfr):
    def build(api, v, m):
        ys = [api.broadcast_to(v, [2, 3, 4]), api.broadcast_to(m, [2, 3, 4]), api.broadcast_to(v[0], [5])]
        return _with_grads(api, ys, [v, m])

    _assert_close(*_run_both(tfr, build, RNG.normal(size=(4,)), RNG.normal(size=(3, 1))))


def test_matrix_diagonal_and_band_ops_with_gradients_match_tensorflow(tfr):
    def build(api, x, sq, d):
        ys = [api.matrix_band_part(x, 1, 0), api.linalg.band_part(x, -1, 1), api.matrix_diag(d),
              api.matrix_diag_part(x), api.linalg.diag_part(sq), api.matrix_set_diag(x, d[:2, :3]),
              api.linalg.set_diag(sq, d[:2, :3]), api.diag(d[0]), api.diag_part(sq[0]),
              api.linalg.tensor_diag_part(api.linalg.tensor_diag(d))]
        return _with_grads(api, ys, [x, sq, d])

    _assert_close(*_run_both(tfr, build, CUBE, RNG.normal(size=(2, 3, 3)), RNG.normal(size=(2, 4))))


def test_eye_linspace_meshgrid_and_invert_permutation_match_tensorflow(tfr):
    def build(api):
        return [api.eye(3), api.eye(2, 4, dtype=api.int32), api.eye(3, 2, batch_shape=[2]), api.linalg.eye(1),
                api.linspace(-1.0, 2.0, 7), api.lin_space(np.float64(0.5), 3.0, 1), api.linspace(0.0, 1.0, 4),
                *api.meshgrid([1, 2, 3], [4, 5]), *api.meshgrid([1, 2], [3, 4, 5], [6], indexing="ij"),
                api.invert_permutation([3, 0, 2, 1]), api.math.invert_permutation(np.array([1, 0], np.int64))]

    _assert_close(*_run_both(tfr, build))


@pytest.mark.filterwarnings("ignore:Converting sparse IndexedSlices")  # boolean_mask's gather, as in TF
def test_sequence_mask_boolean_mask_and_segment_sums_match_tensorflow(tfr):
    def build(api, x):
        lengths = api.constant([2, 0, 4])
        masked = api.boolean_mask(x, x[:, :, 0] > 0)
        return [api.sequence_mask(lengths), api.sequence_mask([[1, 3]], 5, dtype=api.float32),
                api.sequence_mask(np.array([1, 2], np.int64), api.constant(3, api.int64)),
                api.boolean_mask(x, [True, False]), api.boolean_mask(x, [False, True, True], axis=1), masked,
                api.segment_sum(x[0], [0, 0, 2]), api.math.segment_sum([1, 2, 3], [0, 1, 1]),
                api.unsorted_segment_mean(x, [1, 1], 3), api.math.unsorted_segment_mean(x[0], [2, 0, 2], 4)] \
            + api.gradients(api.reduce_sum(masked * masked) + api.reduce_sum(api.segment_sum(x[1], [0, 1, 1])), x)

    _assert_close(*_run_both(tfr, build, CUBE))


def test_composites_build_the_ops_tensorflow_builds(tfr):
    # Shapes and sizes of static tensors, and stacks of constants, TF 2.21 folds into constants as it builds.
    folded = {"Const", "Pack", "Size", "Shape"}

    def ops_of(api, build):
        graph = api.Graph()
        with graph.as_default():
            build(api)
            return sorted(op.type for op in graph.get_operations() if op.type not in folded)

    # (eye is left out: TF 2.21 builds it from MatrixDiagV3, TF 1.15 from MatrixDiag as here.)
    builds = [lambda api: api.meshgrid([1, 2], [3, 4, 5]),
              lambda api: api.sequence_mask(api.placeholder(api.int32, [3])),
              lambda api: api.boolean_mask(api.placeholder(api.float32, [3, 2]), [True, False, True])]
    for build in builds:
        assert ops_of(tf, build) == ops_of(tfr, build)


def test_scatter_and_gather_refuse_out_of_range_indices_at_run_time():
    with tf.Session() as sess:
        with pytest.raises(Exception, match="out of bounds"):
            sess.run(tf.gather_nd([[1, 2]], [[1, 0]]))
        with pytest.raises(Exception, match="out of bounds"):
            sess.run(tf.scatter_nd([[4]], [1.0], [4]))


def test_shape_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"ScatterNd.*updates must have shape"):
        tf.scatter_nd([[1], [2]], [1.0, 2.0, 3.0], [4])
    with pytest.raises(ValueError, match=r"BroadcastTo.*does not broadcast"):
        tf.broadcast_to(tf.zeros([3]), [2, 4])
    with pytest.raises(ValueError, match=r"MatrixSetDiag.*diagonal must have shape"):
        tf.matrix_set_diag(tf.zeros([2, 3]), tf.zeros([3]))
    with pytest.raises(ValueError, match=r"ReverseV2.*twice"):
        tf.reverse(tf.zeros([2, 3]), [1, -1])
    assert tf.cumsum(tf.placeholder(tf.float32, [None, 3]), 1).shape.as_list() == [None, 3]
