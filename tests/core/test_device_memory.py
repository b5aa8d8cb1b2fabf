"""The SDK's device memory (tensorflux.extend): the recycling allocator over a driver of bytearrays, and the
DeviceArray handle with its host copies."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from tensorflux.extend import DeviceArray, RecyclingAllocator, host_array, host_value, on_host
from tests.core.bytes_device import BytesDevice

RNG = np.random.default_rng(7)


class Driver:
    """alloc/free callables over bytearrays, recording every call."""

    def __init__(self) -> None:
        self.allocs: list[int] = []
        self.frees: list[bytearray] = []

    def alloc(self, nbytes: int) -> bytearray:
        self.allocs.append(nbytes)
        return bytearray(nbytes)

    def free(self, buf: bytearray) -> None:
        self.frees.append(buf)


@pytest.mark.parametrize("granularity", [1, 64, 256, 4096])
def test_a_request_is_served_from_the_smallest_bucket_that_holds_it(granularity):
    pool = RecyclingAllocator(bytearray, granularity=granularity)
    for nbytes in [0, 1, granularity - 1, granularity, granularity + 1, *RNG.integers(0, 1 << 20, 50).tolist()]:
        size = pool.bucket(nbytes)
        assert size % granularity == 0
        assert size >= max(nbytes, 1)
        assert size - granularity < max(nbytes, 1)


def test_a_granularity_that_is_not_a_power_of_two_is_refused():
    with pytest.raises(ValueError, match="granularity must be a power of two, got 100"):
        RecyclingAllocator(bytearray, granularity=100)


def test_a_freed_buffer_serves_the_next_request_of_its_bucket_without_the_driver():
    driver = Driver()
    pool = RecyclingAllocator(driver.alloc, driver.free)
    block = pool.alloc(1000)
    first = block.buf
    del block
    again = pool.alloc(1001)  # the same 1024-byte bucket
    assert again.buf is first
    assert driver.allocs == [pool.bucket(1000)]
    other = pool.alloc(5000)  # another bucket: a new buffer
    assert other.buf is not first
    assert driver.allocs == [pool.bucket(1000), pool.bucket(5000)]


def test_in_use_and_kept_bytes_follow_every_alloc_and_release():
    driver = Driver()
    pool = RecyclingAllocator(driver.alloc, driver.free)
    sizes = RNG.integers(1, 10_000, 40).tolist()
    blocks = [pool.alloc(n) for n in sizes]
    assert pool.in_use == sum(pool.bucket(n) for n in sizes) == sum(b.nbytes for b in blocks)
    assert pool.kept == 0
    dropped = blocks[::2]
    del blocks[::2]
    released = sum(b.nbytes for b in dropped)
    del dropped
    assert pool.in_use == sum(b.nbytes for b in blocks)
    assert pool.kept == released
    assert sum(len(bufs) for bufs in pool.free.values()) == len(sizes[::2])


def test_buffers_past_keep_bytes_go_back_to_the_driver():
    driver = Driver()
    pool = RecyclingAllocator(driver.alloc, driver.free, keep_bytes=1024)
    blocks = [pool.alloc(512) for _ in range(4)]
    bufs = [b.buf for b in blocks]
    del blocks
    kept = [b for waiting in pool.free.values() for b in waiting]
    assert pool.kept == 1024 and len(kept) == 2 and len(driver.frees) == 2
    assert {id(b) for b in kept + driver.frees} == {id(b) for b in bufs}
    assert pool.in_use == 0


def test_without_a_free_callable_buffers_past_keep_bytes_are_dropped():
    pool = RecyclingAllocator(bytearray, keep_bytes=0)
    block = pool.alloc(10)
    del block
    assert pool.kept == 0 and pool.free == {}


def test_trim_hands_every_kept_buffer_to_the_driver():
    driver = Driver()
    pool = RecyclingAllocator(driver.alloc, driver.free)
    blocks = [pool.alloc(n) for n in (100, 300, 300, 5000)]
    bufs = {id(b.buf) for b in blocks}
    del blocks
    pool.trim()
    assert {id(b) for b in driver.frees} == bufs
    assert pool.kept == 0 and pool.free == {}


@pytest.mark.parametrize("limits, request_bytes", [({"max_alloc": 4096}, 5000), ({"capacity": 8192}, 9000)])
def test_a_request_past_the_limits_is_a_memory_error_naming_the_owner_and_the_limits(limits, request_bytes):
    driver = Driver()
    pool = RecyclingAllocator(driver.alloc, driver.free, owner="the bytes device", **limits)
    kept = pool.alloc(100)
    del kept
    limit = next(iter(limits.values()))
    with pytest.raises(MemoryError, match=rf"the bytes device cannot allocate {request_bytes:,} bytes: .*{limit:,}"):
        pool.alloc(request_bytes)
    assert pool.kept == 0 and len(driver.frees) == 1  # the kept buffer went back to the driver
    assert driver.allocs == [pool.bucket(100)]


def test_capacity_counts_the_bytes_in_use():
    pool = RecyclingAllocator(bytearray, capacity=4096)
    held = [pool.alloc(1024) for _ in range(4)]
    with pytest.raises(MemoryError, match=r"\(4,096 in use\)"):
        pool.alloc(1)
    held.pop()
    assert pool.alloc(1).nbytes == 256


def test_a_driver_failure_leaves_the_accounting_unchanged():
    def failing(nbytes):
        raise MemoryError(f"driver out of memory for {nbytes} bytes")

    pool = RecyclingAllocator(failing)
    with pytest.raises(MemoryError, match="driver out of memory for 512 bytes"):
        pool.alloc(300)
    assert pool.in_use == 0 and pool.kept == 0


def test_threads_allocating_and_freeing_at_once_leave_consistent_accounts():
    driver = Driver()
    pool = RecyclingAllocator(driver.alloc, driver.free, keep_bytes=64 * 1024)
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                blocks = [pool.alloc(int(n)) for n in rng.integers(1, 4096, 4)]
                del blocks
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's seed
            errors.append((seed, exc))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert pool.in_use == 0
    assert pool.kept == sum(size * len(bufs) for size, bufs in pool.free.items())
    assert pool.kept <= pool.keep_bytes


# -- DeviceArray ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 1, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_, np.uint8])
def test_a_device_array_reports_what_numpy_reports_for_its_shape_and_dtype(shape, dtype):
    ref = np.zeros(shape, dtype)
    x = DeviceArray(None, shape, dtype)
    assert (x.shape, x.ndim, x.size, x.nbytes, x.dtype) == (ref.shape, ref.ndim, ref.size, ref.nbytes, ref.dtype)


def test_a_view_shares_the_block_and_reshapes_the_host_copy():
    dev = BytesDevice()
    x = dev.from_host(np.arange(12, dtype=np.int32))
    v = x.view((3, 4))
    assert v.block is x.block and v.shape == (3, 4)
    np.testing.assert_array_equal(v.host, np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(dev.to_host(v.view((12,))), np.arange(12))


def test_a_host_value_is_uploaded_once_when_a_kernel_first_reads_its_buffer():
    dev = BytesDevice()
    x = host_array(dev, np.arange(5.0))
    assert x.block is None and dev.copies_in == 0
    buf = x.buffer
    assert dev.copies_in == 1 and x.block is not None
    assert x.buffer is buf and dev.copies_in == 1
    np.testing.assert_array_equal(np.frombuffer(buf, np.float64, 5), np.arange(5.0))


def test_the_block_returns_to_the_pool_when_the_last_view_goes():
    dev = BytesDevice()
    x = dev.empty((4, 4), np.float32)
    v = x.view((16,))
    size = x.block.nbytes
    del x
    gc.collect()
    assert dev.pool.in_use == size
    del v
    gc.collect()
    assert dev.pool.in_use == 0 and dev.pool.kept == size


def test_host_array_copies_a_writable_value_and_keeps_it_read_only():
    source = np.arange(4)
    x = host_array(None, source)
    source[0] = 99
    assert x.host[0] == 0
    assert not x.host.flags.writeable
    frozen = np.arange(3)
    frozen.setflags(write=False)
    assert host_array(None, frozen).host is frozen  # already read-only: kept as is


def test_host_array_converts_to_the_dtype_asked_for():
    x = host_array(None, (2, 3), np.int64)
    assert x.dtype == np.int64 and x.host.tolist() == [2, 3]


def test_host_value_reads_the_host_copy_without_a_download_and_downloads_otherwise():
    dev = BytesDevice()
    small = dev.from_host(np.arange(3.0))
    np.testing.assert_array_equal(host_value(small), np.arange(3.0))
    assert dev.copies_out == 0
    big = dev.from_host(np.arange(dev.host_copy_limit + 1.0))
    np.testing.assert_array_equal(host_value(big), np.arange(dev.host_copy_limit + 1.0))
    assert dev.copies_out == 1
    assert host_value([1, 2]).tolist() == [1, 2]


def test_on_host_is_true_only_for_device_arrays_never_uploaded():
    dev = BytesDevice()
    kept = host_array(dev, np.arange(2))
    uploaded = dev.from_host(np.arange(2))
    assert on_host(kept) and on_host(kept, kept.view((2, 1)))
    assert not on_host(uploaded)  # a host copy, but the value lives on the device too
    assert not on_host(kept, uploaded)
    assert not on_host(np.arange(2))
    kept.buffer  # noqa: B018 - reading the buffer uploads it
    assert not on_host(kept)
