"""The SDK's BufferDevice and ProgramCache (tensorflux.extend), on a device whose driver is made of bytearrays."""

from __future__ import annotations

import numpy as np
import pytest

from tensorflux.extend import BufferDevice, DeviceArray, Kernels, KernelUnavailable, ProgramCache
from tests.core.bytes_device import BytesDevice

RNG = np.random.default_rng(11)
DTYPES = [np.float32, np.float64, np.int8, np.int32, np.int64, np.uint16, np.bool_, np.float16]
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 0, 3), (2, 3, 4, 5)]


def _values(shape, dtype):
    if np.dtype(dtype) == np.bool_:
        return RNG.random(shape) > 0.5
    return (RNG.standard_normal(shape) * 100).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_values_come_back_from_the_device_unchanged(shape, dtype):
    dev = BytesDevice()
    value = _values(shape, dtype)
    x = dev.from_host(value)
    assert isinstance(x, DeviceArray) and x.device is dev
    assert (x.shape, x.dtype) == (value.shape, value.dtype)
    back = dev.to_host(x)
    assert back.dtype == value.dtype
    np.testing.assert_array_equal(back, value)


def test_a_non_contiguous_host_array_is_copied_in_its_logical_order():
    dev = BytesDevice()
    value = np.arange(24, dtype=np.int32).reshape(4, 6).T[::2]
    big = np.asfortranarray(RNG.standard_normal((80, 70)))  # past the host-copy limit: read back from the buffer
    np.testing.assert_array_equal(dev.to_host(dev.from_host(value)), value)
    np.testing.assert_array_equal(dev.to_host(dev.from_host(big)), big)


def test_small_values_keep_a_read_only_host_copy_and_large_ones_none():
    dev = BytesDevice()
    limit = dev.host_copy_limit
    source = np.zeros(limit, np.float32)
    small, large = dev.from_host(source), dev.from_host(np.zeros(limit + 1, np.float32))
    source[0] = 5.0
    assert small.host is not None and not small.host.flags.writeable and small.host[0] == 0.0
    assert large.host is None
    assert small.block is not None  # uploaded as well: kernels read the buffer without waiting
    assert dev.to_host(small) is small.host and dev.copies_out == 0


def test_to_host_passes_values_that_are_not_device_arrays_through_numpy():
    assert BytesDevice().to_host([1.5, 2.5]).tolist() == [1.5, 2.5]


def test_string_tensors_are_refused_naming_the_device():
    with pytest.raises(TypeError, match=r"string tensors cannot be placed on /bytes:3"):
        BytesDevice(3).from_host(np.array(["a"], dtype=object))


def test_empty_arrays_and_uploads_come_from_the_pool():
    dev = BytesDevice()
    x = dev.empty((10, 10), np.float64)
    assert x.block.nbytes == dev.pool.bucket(800) and dev.pool.in_use == x.block.nbytes
    assert dev.copies_in == 0
    y = dev.from_host(np.ones(3))
    assert dev.copies_in == 1 and dev.pool.in_use == x.block.nbytes + y.block.nbytes


def test_an_empty_value_allocates_but_copies_nothing():
    dev = BytesDevice()
    x = dev.from_host(np.zeros((0, 4)))
    assert dev.copies_in == 0 and dev.to_host(x).shape == (0, 4) and dev.copies_out == 0


def test_a_plan_that_runs_again_allocates_nothing_new():
    dev = BytesDevice()

    def step():
        a = dev.from_host(np.ones((64, 64), np.float32))
        b = dev.empty((64, 64), np.float32)
        return dev.to_host(a).sum() + b.size

    step()
    allocated = len(dev.allocated)
    for _ in range(5):
        step()
    assert len(dev.allocated) == allocated


def test_the_pool_names_the_device_when_a_value_does_not_fit():
    dev = BytesDevice(1, capacity=1 << 16)
    with pytest.raises(MemoryError, match=r"BytesDevice /bytes:1 cannot allocate 80,000 bytes"):
        dev.from_host(np.zeros(10_000))


def test_buffers_the_pool_does_not_keep_go_to_free_buffer():
    dev = BytesDevice(keep_bytes=0)
    x = dev.empty((4,), np.int32)
    buf = x.block.buf
    del x
    assert [id(b) for b in dev.freed] == [id(buf)]


@pytest.mark.parametrize("call", [lambda d: d.empty((2,), np.float32), lambda d: d.from_host(np.ones(2)),
                                  lambda d: d.copy_out(np.ones(2), bytearray(16))])
def test_a_device_missing_a_primitive_says_which(call):
    class Incomplete(BufferDevice):
        device_type = "incomplete"

    with pytest.raises(NotImplementedError, match=r"Incomplete must implement (allocate_buffer|copy_out)"):
        call(Incomplete(0))


# -- ProgramCache ---------------------------------------------------------------------------------------------
class Compiler:
    """Builds 'programs' that are dicts of kernels named in the source; names in ``broken`` fail to build."""

    def __init__(self, broken=(), error=KernelUnavailable) -> None:
        self.builds: list = []
        self.lookups: list = []
        self.broken, self.error = set(broken), error

    def build(self, key, text, options):
        self.builds.append((key, text, options))
        if key in self.broken:
            raise self.error(f"program {key} does not build")
        return {name: f"{name}{list(options)}" for name in text.split()}

    def lookup(self, program, name):
        self.lookups.append(name)
        return program[name]


def test_each_program_is_built_once_and_each_kernel_fetched_once():
    compiler = Compiler()
    cache = ProgramCache(compiler.build, compiler.lookup)
    sources = []

    def source():
        sources.append(1)
        return "add mul"

    first = cache.get("math", source, ("-O2",))
    assert first.add == "add['-O2']" and first.add == "add['-O2']" and first.mul == "mul['-O2']"
    assert cache.get("math", source) is first
    assert len(compiler.builds) == 1 and len(sources) == 1
    assert compiler.lookups == ["add", "mul"]
    assert compiler.builds[0] == ("math", "add mul", ("-O2",))


def test_a_program_that_does_not_build_fails_every_later_request_without_a_rebuild():
    compiler = Compiler(broken={"gemm"})
    cache = ProgramCache(compiler.build, compiler.lookup)
    for _ in range(3):
        with pytest.raises(KernelUnavailable, match="program gemm does not build"):
            cache.get("gemm", lambda: "gemm")
    assert len(compiler.builds) == 1
    assert cache.broken == {"gemm": "program gemm does not build"}
    assert cache.get("other", lambda: "k").k == "k[]"


def test_the_error_a_cache_remembers_is_its_own_and_others_pass_through_each_time():
    class ProgramError(KernelUnavailable):
        pass

    remembered = Compiler(broken={"a"}, error=ProgramError)
    cache = ProgramCache(remembered.build, remembered.lookup, ProgramError)
    for _ in range(2):
        with pytest.raises(ProgramError):
            cache.get("a", lambda: "x")
    assert len(remembered.builds) == 1
    transient = Compiler(broken={"a"}, error=OSError)
    cache = ProgramCache(transient.build, transient.lookup, ProgramError)
    for _ in range(2):
        with pytest.raises(OSError):
            cache.get("a", lambda: "x")
    assert len(transient.builds) == 2 and cache.broken == {}


def test_a_kernel_table_does_not_treat_private_names_as_kernels():
    table = Kernels({"k": 1}, lambda program, name: program[name])
    with pytest.raises(AttributeError):
        table.__deepcopy__  # noqa: B018 - the lookup must not run for it
    assert table.k == 1
