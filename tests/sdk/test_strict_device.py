"""The device SDK through the strict test device: placement, copies, variables, fallback and registration errors.

The device's arrays are ``array_api_strict`` arrays and every kernel it has is a reference kernel, so these
tests see core treat a device whose values are not numpy arrays.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import array_api_strict as xp
import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import PlacementWarning, kernels_for_device, list_devices, plugin_infos, reference_kernels
from tests.installed_plugins import installed
from tests.sdk.strict_device import ENTRY_POINT as STRICT_PLUGIN

PLUGIN_FILE = Path(__file__).parent / "strict_device" / "plugin.py"
STRICT_ARRAY = type(xp.asarray(0))

# A second device type with every reference kernel but MatMul, to see an op fall back to the cpu.
LITE_PLUGIN = """
    from tensorflux.extend import hookimpl, register_reference_kernels
    from tests.sdk.strict_device.plugin import StrictDevice, xp

    TENSORFLUX_CONTRACT = "1.0"

    class LiteDevice(StrictDevice):
        device_type = "strict_lite"

    @hookimpl
    def tensorflux_register_devices(registrar):
        registrar.device(LiteDevice(0))

    @hookimpl
    def tensorflux_register_kernels(registrar):
        register_reference_kernels(registrar, "strict_lite", xp, skip=["MatMul"])
"""

# A device type without any optimizer update kernel: its variables' updates run the cpu's kernels through the
# host adapter, on the device where the variables live.
NO_UPDATES_PLUGIN = """
    from tensorflux.extend import hookimpl, register_reference_kernels
    from tests.sdk.strict_device.plugin import StrictDevice, xp

    TENSORFLUX_CONTRACT = "1.0"

    class NoUpdatesDevice(StrictDevice):
        device_type = "strict_no_updates"

    @hookimpl
    def tensorflux_register_devices(registrar):
        registrar.device(NoUpdatesDevice(0))

    @hookimpl
    def tensorflux_register_kernels(registrar):
        register_reference_kernels(registrar, "strict_no_updates", xp,
                                   skip=["ApplyAdam", "ApplyMomentum", "_MatMulApplyAdam"])
"""

# A plugin registering the same reference kernels for the strict device type, at the same priority.
TWIN_PLUGIN = """
    from tensorflux.extend import hookimpl, register_reference_kernels
    from tests.sdk.strict_device.plugin import xp

    TENSORFLUX_CONTRACT = "1.0"

    @hookimpl
    def tensorflux_register_kernels(registrar):
        register_reference_kernels(registrar, "strict", xp)
"""

# A plugin that makes the strict device's MatMul fast: a host (numpy) kernel through the host adapter, at the
# default priority 0, which beats the reference kernel's -1.
FAST_MATMUL_PLUGIN = """
    import numpy as np
    from tensorflux.extend import hookimpl, host_kernel

    TENSORFLUX_CONTRACT = "1.0"
    CALLS = []

    def matmul(a, b, *, transpose_a, transpose_b):
        CALLS.append((type(a).__name__, type(b).__name__))
        return np.matmul(a.T if transpose_a else a, b.T if transpose_b else b)

    @hookimpl
    def tensorflux_register_kernels(registrar):
        registrar.kernel("MatMul", "strict", host_kernel(matmul), dtypes=["float32", "float64"])
"""


class CopyCounter:
    """Counts the strict device's copies, and checks what its ``to_host`` is handed is a strict array."""

    def __init__(self, device, monkeypatch: pytest.MonkeyPatch) -> None:
        self.uploads = self.downloads = 0
        upload, download = device.from_host, device.to_host

        def from_host(array):
            self.uploads += 1
            return upload(array)

        def to_host(value):
            assert isinstance(value, STRICT_ARRAY), f"the strict device was handed a {type(value).__name__}"
            self.downloads += 1
            return download(value)

        monkeypatch.setattr(device, "from_host", from_host)
        monkeypatch.setattr(device, "to_host", to_host)


def _strict_device():
    return next(d for d in list_devices() if d.device_type == "strict")


def test_the_strict_plugin_is_small_and_has_no_kernel_of_its_own(device):
    lines = len(PLUGIN_FILE.read_text().splitlines())
    assert lines < 150, f"the strict test device's plugin has {lines} lines; the SDK promises under 150"
    reference = set(reference_kernels(xp))
    strict = {k.op for k in kernels_for_device("strict")}
    assert strict <= reference
    assert {k.plugin for k in kernels_for_device("strict")} == {"strict"}
    assert all(k.priority == -1 for k in kernels_for_device("strict"))


def test_ops_placed_on_the_strict_device_run_there_and_copy_once_each_way(device, monkeypatch):
    counter = CopyCounter(_strict_device(), monkeypatch)
    x = tf.placeholder(tf.float32, [2, 3])
    with tf.device("/strict:0"):
        y = tf.reduce_sum(tf.matmul(x, tf.ones([3, 4])) * 2.0, axis=1)
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    with tf.Session() as sess:
        got = sess.run(y, {x: value})
    np.testing.assert_allclose(got, (value @ np.ones((3, 4), np.float32) * 2).sum(axis=1))
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert counter.downloads == 1  # the fetch; everything between ran on the device
    assert counter.uploads >= 1  # the feed (constants are uploaded by their Const kernels)


def test_ops_placed_nowhere_stay_on_the_cpu(device, monkeypatch):
    counter = CopyCounter(_strict_device(), monkeypatch)
    y = tf.constant([1.0, 2.0]) * 3.0
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y), [3.0, 6.0])
    assert counter.uploads == counter.downloads == 0


def test_values_cross_between_strict_and_cpu_in_both_directions(device, monkeypatch):
    counter = CopyCounter(_strict_device(), monkeypatch)
    x = tf.placeholder(tf.int32, [4])
    with tf.device("/strict:0"):
        a = x * 3
    with tf.device("/cpu:0"):
        b = a + 1
    with tf.device("/strict:0"):
        c = b[::-1]
    value = np.array([1, 2, 3, 4], np.int32)
    with tf.Session() as sess:
        got_a, got_c = sess.run([a, c], {x: value})
    np.testing.assert_array_equal(got_a, value * 3)
    np.testing.assert_array_equal(got_c, (value * 3 + 1)[::-1])
    assert counter.downloads >= 3  # a to the cpu, and both fetches
    assert counter.uploads >= 2  # the feed, and b back to the device


def test_variables_live_on_the_device_and_train_as_on_the_cpu(device, monkeypatch):
    counter = CopyCounter(_strict_device(), monkeypatch)

    def train(where: str) -> list:
        graph = tf.Graph()
        with graph.as_default():
            x = tf.constant(np.linspace(-1, 1, 8).reshape(8, 1))
            target = 3 * x - 1
            with tf.device(where):
                w = tf.Variable(np.zeros((1, 1)), name="w")
                b = tf.Variable(np.zeros(1), name="b")
                loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - target))
                step = tf.train.AdamOptimizer(0.1).minimize(loss)
            with tf.Session(graph=graph) as sess:
                sess.run(tf.global_variables_initializer())
                for _ in range(20):
                    sess.run(step)
                downloads = counter.downloads
                values = sess.run([w, b])
                # fetching the variables copies them from the device (to_host checks they are strict arrays)
                assert counter.downloads - downloads == (2 if where == "/strict:0" else 0)
                return values

    w_strict, b_strict = train("/strict:0")
    w_cpu, b_cpu = train("/cpu:0")
    np.testing.assert_allclose(w_strict, w_cpu, rtol=1e-12)
    np.testing.assert_allclose(b_strict, b_cpu, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_a_device_without_update_kernels_trains_through_the_host_adapter(tmp_path, optimizer):
    """Update ops must run where their variables live: there, the cpu's kernel runs through the host adapter."""
    make = {"adam": lambda: tf.train.AdamOptimizer(0.1), "momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9)}

    def train(where: str) -> tuple:
        graph = tf.Graph()
        with graph.as_default():
            x = tf.constant(np.linspace(-1, 1, 8).reshape(8, 1))
            with tf.device(where):
                w = tf.Variable(np.zeros((1, 1)), name="w")
                loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - (3 * x - 1)))
                step = make[optimizer]().minimize(loss)
            with tf.Session(graph=graph) as sess, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sess.run(tf.global_variables_initializer())
                for _ in range(10):
                    sess.run(step)
                return sess.run(w), sess.state.variables["w"].device.name, [str(c.message) for c in caught]

    plugins = {"strict": STRICT_PLUGIN, "strict_no_updates": "tfx_sdk_no_updates_device"}
    with installed(tmp_path, plugins, {"tfx_sdk_no_updates_device": NO_UPDATES_PLUGIN}):
        assert not {"ApplyAdam", "ApplyMomentum"} & {k.op for k in kernels_for_device("strict_no_updates")}
        on_device, device, messages = train("/strict_no_updates:0")
    on_cpu, _, _ = train("/cpu:0")
    assert device == "/strict_no_updates:0"
    np.testing.assert_allclose(on_device, on_cpu, rtol=1e-12)
    update = "ApplyAdam" if optimizer == "adam" else "ApplyMomentum"
    assert any(update in m and "host adapter" in m for m in messages), messages


def test_without_soft_placement_the_host_adapter_is_refused_naming_the_update(tmp_path):
    plugins = {"strict": STRICT_PLUGIN, "strict_no_updates": "tfx_sdk_no_updates_device"}
    with installed(tmp_path, plugins, {"tfx_sdk_no_updates_device": NO_UPDATES_PLUGIN}):
        with tf.Graph().as_default():
            with tf.device("/strict_no_updates:0"):
                w = tf.Variable(np.ones(2), name="w")
                step = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(w * w))
            with tf.Session(config=tf.ConfigProto(allow_soft_placement=False)) as sess:
                sess.run(tf.global_variables_initializer())
                with pytest.raises(tf.errors.InvalidArgumentError,
                                   match=r"update_w/ApplyMomentum' \(ApplyMomentum\) must run on strict_no_updates.*"
                                         r"allow_soft_placement=False"):
                    sess.run(step)


def test_seeded_random_ops_draw_the_same_values_as_on_the_cpu(device):
    def draw(where: str) -> list:
        graph = tf.Graph()
        with graph.as_default(), tf.device(where):
            ops = [tf.random_normal([3, 2], seed=1), tf.random_uniform([4], seed=2), tf.truncated_normal([5], seed=3)]
            with tf.Session(graph=graph) as sess:
                return sess.run(ops)

    for on_strict, on_cpu in zip(draw("/strict:0"), draw("/cpu:0")):
        np.testing.assert_array_equal(on_strict, on_cpu)


def test_a_cast_from_a_dtype_the_device_cannot_hold_falls_back_instead_of_failing(device):
    """Cast's kernel is keyed by DstT; the device must also hold SrcT (float16 is not in the array API)."""
    x = tf.placeholder(tf.float16, [2])
    with tf.device("/strict:0"):
        y = tf.cast(x, tf.float32, name="widen")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tf.Session().run(y, {x: np.array([1.5, -2.0], np.float16)})
    np.testing.assert_array_equal(got, [1.5, -2.0])
    assert any("widen" in str(w.message) and "/strict:0" in str(w.message) for w in caught), caught


def test_an_op_the_device_lacks_falls_back_to_the_cpu_saying_so(tmp_path):
    plugins = {"strict": STRICT_PLUGIN, "strict_lite": "tfx_sdk_lite_device"}
    with installed(tmp_path, plugins, {"tfx_sdk_lite_device": LITE_PLUGIN}):
        assert "MatMul" not in {k.op for k in kernels_for_device("strict_lite")}
        with tf.device("/strict_lite:0"):
            product = tf.matmul(tf.ones([2, 3]), tf.ones([3, 2]), name="product")
            doubled = product * 2.0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = tf.Session().run(doubled)
    np.testing.assert_array_equal(got, np.full((2, 2), 6.0, np.float32))
    messages = [str(w.message) for w in caught]
    assert any("product" in m and "MatMul" in m and "/strict_lite:0" in m for m in messages), messages


def test_a_kernel_registered_at_the_default_priority_overrides_the_reference_one(tmp_path, monkeypatch):
    plugins = {"strict": STRICT_PLUGIN, "strict_fast": "tfx_sdk_fast_matmul"}
    with installed(tmp_path, plugins, {"tfx_sdk_fast_matmul": FAST_MATMUL_PLUGIN}):
        counter = CopyCounter(_strict_device(), monkeypatch)
        fast = sys.modules["tfx_sdk_fast_matmul"]
        a, b = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.ones((2, 4), np.float32)
        with tf.device("/strict:0"):
            product = tf.matmul(tf.constant(a), tf.constant(b), transpose_a=True)
            ints = tf.matmul(tf.constant(a.astype(np.int32)), tf.constant(b.astype(np.int32)[:, :3].T))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # both run on the strict device: no fallback
            got, got_ints = tf.Session().run([product, ints])
    np.testing.assert_array_equal(got, a.T @ b)
    np.testing.assert_array_equal(got_ints, a.astype(np.int32) @ b.astype(np.int32)[:, :3].T)
    assert fast.CALLS == [("ndarray", "ndarray")]  # float32 took the fast kernel, on host copies; int32 did not
    assert counter.downloads >= 4  # the fast kernel's two inputs, and both fetches


def test_two_plugins_registering_the_same_kernel_are_an_error_naming_both(tmp_path):
    plugins = {"strict": STRICT_PLUGIN, "strict_twin": "tfx_sdk_twin_kernels"}
    with installed(tmp_path, plugins, {"tfx_sdk_twin_kernels": TWIN_PLUGIN}) as caught:
        twin = next(info for info in plugin_infos() if info.name == "strict_twin")
        strict_kernels = {k.plugin for k in kernels_for_device("strict")}
    messages = " | ".join(str(w.message) for w in caught)
    assert twin.status == "broken"
    assert "already registered by plugin 'strict'" in twin.error and "plugin 'strict_twin'" in twin.error
    assert "device type 'strict'" in twin.error
    assert "strict_twin" in messages  # discovery warned, naming the plugin it skipped
    assert strict_kernels == {"strict"}  # the twin's partial registration was rolled back


def test_a_device_that_does_not_exist_is_an_error_naming_the_ones_that_do(device):
    # Refused without soft placement; with it (the default) the ops run elsewhere and the warning says why.
    with tf.device("/strict:7"):
        y = tf.constant(1.0) + 1.0
    strict = tf.Session(config=tf.ConfigProto(allow_soft_placement=False))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"/strict:7, but no such device.*/strict:0"):
        strict.run(y)
    with pytest.warns(PlacementWarning, match=r"/strict:7: no such device is available \(available: .*/strict:0"):
        assert tf.Session().run(y) == 2.0
