"""The SDK's kernels for DeviceArray devices (tensorflux.extend.device_array_kernels), run on a device made of
bytearrays: results match numpy, views copy nothing, and values made on the host stay there."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import device_array_kernels, host_array, on_host
from tests.core.bytes_device import BytesDevice, kernel_context

KERNELS = device_array_kernels()
RNG = np.random.default_rng(3)


@pytest.fixture
def dev():
    return BytesDevice()


def test_every_op_is_one_tensorflux_defines():
    from tensorflux.extend import registered_ops

    assert set(KERNELS) <= set(registered_ops())


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
@pytest.mark.parametrize("out_type", [tf.int32, tf.int64])
def test_shape_size_and_rank_stay_on_the_host_without_reading_the_data(dev, shape, out_type):
    x = dev.from_host(RNG.standard_normal(shape))
    copies = dev.copies_out
    ctx = kernel_context(dev)
    results = (KERNELS["Shape"](x, out_type=out_type, ctx=ctx), KERNELS["Size"](x, out_type=out_type, ctx=ctx),
               KERNELS["Rank"](x, ctx=ctx))
    ref = np.zeros(shape)
    for got, want in zip(results, (np.array(ref.shape, out_type.np_dtype), np.array(ref.size, out_type.np_dtype),
                                   np.array(ref.ndim, np.int32))):
        assert on_host(got) and got.device is dev
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(dev.to_host(got), want)
    assert dev.copies_out == copies


def test_const_keeps_the_value_on_the_host_until_a_kernel_reads_it(dev):
    value = RNG.standard_normal((2, 2)).astype(np.float32)
    got = KERNELS["Const"](value=value, ctx=kernel_context(dev))
    assert on_host(got) and dev.copies_in == 0
    np.testing.assert_array_equal(dev.to_host(got), value)


@pytest.mark.parametrize("op", ["Identity", "StopGradient", "PlaceholderWithDefault"])
def test_identities_return_their_input(dev, op):
    x = dev.from_host(np.arange(3))
    assert KERNELS[op](x) is x


@pytest.mark.parametrize("shape, target", [((2, 6), [3, 4]), ((2, 6), [-1]), ((4,), [2, -1, 1]), ((), [1, 1])])
def test_reshape_is_a_view_of_the_same_block(dev, shape, target):
    value = RNG.standard_normal(shape)
    x = dev.from_host(value)
    got = KERNELS["Reshape"](x, host_array(dev, target, np.int32))
    assert got.block is x.block
    np.testing.assert_array_equal(dev.to_host(got), value.reshape(target))


def test_reshape_reads_a_shape_that_lives_on_the_device(dev):
    x = dev.from_host(np.arange(6.0))
    got = KERNELS["Reshape"](x, dev.from_host(np.array([2, 3])))
    assert got.shape == (2, 3)


def test_a_reshape_that_cannot_be_is_an_error_naming_both_shapes(dev):
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \[2, 3\] \(6 elements\) into shape \[4\]"):
        KERNELS["Reshape"](dev.from_host(np.zeros((2, 3))), host_array(dev, [4]))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_expand_dims_matches_numpy(dev, dim):
    value = RNG.standard_normal((2, 3))
    got = KERNELS["ExpandDims"](dev.from_host(value), host_array(dev, dim))
    assert got.shape == np.expand_dims(value, dim).shape
    with pytest.raises(ValueError, match=r"ExpandDims: dim 3 is out of range for a tensor of rank 2"):
        KERNELS["ExpandDims"](dev.from_host(value), host_array(dev, 3))


@pytest.mark.parametrize("squeeze_dims", [[], [0], [2, -1], [-5]])
def test_squeeze_matches_numpy(dev, squeeze_dims):
    value = RNG.standard_normal((1, 3, 1, 2, 1))
    got = KERNELS["Squeeze"](dev.from_host(value), squeeze_dims=squeeze_dims)
    want = np.squeeze(value, axis=tuple(squeeze_dims) if squeeze_dims else None)
    np.testing.assert_array_equal(dev.to_host(got), want)


def test_squeezing_a_dimension_that_is_not_one_names_it(dev):
    with pytest.raises(ValueError, match=r"Squeeze: dimension 1 of shape \[1, 3\] is 3, not 1"):
        KERNELS["Squeeze"](dev.from_host(np.zeros((1, 3))), squeeze_dims=[1])


@pytest.mark.parametrize("start, limit, delta, dtype", [(0, 5, 1, np.int32), (3, -4, -2, np.int64),
                                                        (0.5, 2.0, 0.25, np.float32)])
def test_range_matches_numpy_and_stays_where_its_inputs_are(dev, start, limit, delta, dtype):
    ctx = kernel_context(dev)
    on_the_host = [host_array(dev, v, dtype) for v in (start, limit, delta)]
    on_the_device = [dev.from_host(np.array(v, dtype)) for v in (start, limit, delta)]
    want = np.arange(start, limit, delta, dtype=dtype)
    kept, uploaded = KERNELS["Range"](*on_the_host, ctx=ctx), KERNELS["Range"](*on_the_device, ctx=ctx)
    assert on_host(kept) and not on_host(uploaded)
    for got in (kept, uploaded):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(dev.to_host(got), want)


def test_range_with_a_zero_delta_is_an_error(dev):
    with pytest.raises(ValueError, match="range: delta must not be zero"):
        KERNELS["Range"](*(host_array(dev, v) for v in (0, 3, 0)), ctx=kernel_context(dev))


def test_where_matches_numpy_and_downloads_only_a_value_without_a_host_copy(dev):
    value = RNG.random((dev.host_copy_limit + 1,)) > 0.7
    small = value[:10].reshape(2, 5)
    ctx = kernel_context(dev)
    got_small = KERNELS["Where"](host_array(dev, small), ctx=ctx)
    assert on_host(got_small) and dev.copies_out == 0
    np.testing.assert_array_equal(dev.to_host(got_small), np.argwhere(small))
    got = KERNELS["Where"](dev.from_host(value), ctx=ctx)
    assert dev.copies_out == 1 and not on_host(got)
    np.testing.assert_array_equal(dev.to_host(got), np.argwhere(value))
    assert got.dtype == np.int64


@pytest.mark.parametrize("value, want", [(None, False), (np.zeros(2), True)])
def test_is_variable_initialized_reads_the_slot_without_touching_its_value(dev, value, want):
    slot = SimpleNamespace(value=value)
    got = KERNELS["IsVariableInitialized"](slot, ctx=kernel_context(dev))
    assert on_host(got) and bool(dev.to_host(got)) is want
