"""Bilinear and nearest-neighbor resizing (every align_corners / half_pixel_centers mode, up and down), their
gradients, resize_images, space_to_depth / depth_to_space and LRN with its gradient, against TensorFlow 2.21's
tf.compat.v1 on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(3)
IMAGES = RNG.normal(size=(2, 5, 4, 3)).astype(np.float32)
MODES = [(False, False), (True, False), (False, True)]


def _run_both(tfr, build, *arrays):
    graph = tfr.Graph()
    with graph.as_default():
        fetches = build(tfr, *[tfr.constant(a) for a in arrays])
        with tfr.Session(graph=graph) as sess:
            theirs = sess.run(fetches)
    with tf.Graph().as_default(), tf.Session() as sess:
        ours = sess.run(build(tf, *[tf.constant(a) for a in arrays]))
    return theirs, ours


def _assert_close(theirs, ours, rtol=1e-5, atol=1e-5):
    assert len(theirs) == len(ours)
    for i, (t, o) in enumerate(zip(theirs, ours)):
        t, o = np.asarray(t), np.asarray(o)
        assert o.dtype == t.dtype and o.shape == t.shape, f"fetch {i}: {o.dtype}{o.shape}, TF {t.dtype}{t.shape}"
        np.testing.assert_allclose(o, t, rtol=rtol, atol=atol, err_msg=f"fetch {i}")


def _weighted_grads(api, ys, x):
    total = api.add_n([api.reduce_sum(y * np.cos(np.arange(int(np.prod(y.shape.as_list())))).reshape(
        y.shape.as_list()).astype(np.float32)) for y in ys])
    return api.gradients(total, x)


@pytest.mark.parametrize("align_corners, half_pixel_centers", MODES, ids=["legacy", "align_corners", "half_pixel"])
def test_resizes_and_their_gradients_match_tensorflow(tfr, align_corners, half_pixel_centers):
    mode = {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}

    def build(api, x):
        ys = [api.image.resize_bilinear(x, size, **mode) for size in ([7, 9], [3, 2], [1, 1], [5, 4])]
        ys += [api.image.resize_nearest_neighbor(x, size, **mode) for size in ([7, 9], [3, 2], [2, 7])]
        return ys + _weighted_grads(api, ys, x)

    _assert_close(*_run_both(tfr, build, IMAGES))


def test_integer_images_resize_as_tensorflow(tfr):
    pixels = RNG.integers(0, 255, size=(1, 3, 4, 2)).astype(np.uint8)

    def build(api, x):
        return [api.image.resize_bilinear(x, [5, 6]), api.image.resize_nearest_neighbor(x, [6, 3]),
                api.image.resize_bilinear(api.cast(x, api.int32), [2, 2], align_corners=True)]

    _assert_close(*_run_both(tfr, build, pixels))


def test_resize_images_matches_tensorflow_for_both_methods_and_single_images(tfr):
    def build(api, x):
        return [api.image.resize_images(x, [6, 3]), api.image.resize_images(x[0], [2, 8], method=1),
                api.image.resize_images(x, [7, 7], method=api.image.ResizeMethod.NEAREST_NEIGHBOR,
                                        align_corners=True)]

    _assert_close(*_run_both(tfr, build, IMAGES))


def test_space_to_depth_and_depth_to_space_with_gradients_match_tensorflow(tfr):
    def build(api, x):
        ys = [api.space_to_depth(x, 2), api.nn.space_to_depth(x[:, :, :, :2], 2), api.depth_to_space(x, 2),
              api.nn.depth_to_space(api.space_to_depth(x, 3), 3)]
        return ys + _weighted_grads(api, ys, x)

    _assert_close(*_run_both(tfr, build, RNG.normal(size=(2, 6, 6, 4)).astype(np.float32)))


@pytest.mark.parametrize("depth_radius, bias, alpha, beta", [(5, 1.0, 1.0, 0.5), (2, 2.0, 1e-4, 0.75),
                                                             (0, 1.0, 0.5, 1.0), (1, 0.5, 0.3, 0.4)])
def test_lrn_and_its_gradient_match_tensorflow(tfr, depth_radius, bias, alpha, beta):
    def build(api, x):
        ys = [api.nn.lrn(x, depth_radius, bias, alpha, beta),
              api.nn.local_response_normalization(x, depth_radius=depth_radius, bias=bias, alpha=alpha, beta=beta)]
        return ys + _weighted_grads(api, ys, x)

    _assert_close(*_run_both(tfr, build, RNG.normal(size=(2, 3, 2, 7)).astype(np.float32)))


def test_resize_errors_name_the_op():
    with pytest.raises(ValueError, match="align_corners and half_pixel_centers"):
        tf.image.resize_bilinear(tf.zeros([1, 2, 2, 1]), [3, 3], align_corners=True, half_pixel_centers=True)
    with pytest.raises(ValueError, match="ResizeNearestNeighbor.*4-D"):
        tf.image.resize_nearest_neighbor(tf.zeros([2, 2, 1]), [3, 3])
    with pytest.raises(ValueError, match="SpaceToDepth.*divisible"):
        tf.space_to_depth(tf.zeros([1, 3, 4, 1]), 2)
    assert tf.image.resize_bilinear(tf.placeholder(tf.uint8, [None, 4, 4, 3]), [8, 8]).shape.as_list() == \
        [None, 8, 8, 3]
