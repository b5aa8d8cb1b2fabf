"""Plugin discovery through real entry points: isolation of broken plugins, filters, and no-cpu behaviour."""

import pytest

from tests.plugin_sandbox import make_site, run

HEALTHY_RUN = """
import warnings
warnings.simplefilter("always")
import tensorflux as tf
print("RESULT", tf.Session().run(tf.constant([1.0, 2.0]) * 2).tolist())
from tensorflux.__main__ import main
main(["plugins"])
"""

BROKEN_PLUGINS = {
    "raises_at_import": "raise RuntimeError('boom at import')\n",
    "raises_in_hook": """
        from tensorflux.extend import hookimpl, OpDef
        TENSORFLUX_CONTRACT = "1.0"
        @hookimpl
        def tensorflux_register_ops(registrar):
            registrar.op(OpDef("HalfRegistered", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"}))
        @hookimpl
        def tensorflux_register_kernels(registrar):
            raise ValueError("kernel table is corrupt")
    """,
    "unknown_op_kernel": """
        from tensorflux.extend import hookimpl
        TENSORFLUX_CONTRACT = "1.0"
        @hookimpl
        def tensorflux_register_kernels(registrar):
            registrar.kernel("NoSuchOp", "cpu", lambda x: x)
    """,
    "duplicate_device": """
        from tensorflux.extend import hookimpl, Device
        TENSORFLUX_CONTRACT = "1.0"
        class Clash(Device):
            device_type = "cpu"
        @hookimpl
        def tensorflux_register_devices(registrar):
            registrar.device(Clash(0))
    """,
    "from_the_future": """
        TENSORFLUX_CONTRACT = "7.0"
    """,
    "no_contract": """
        from tensorflux.extend import hookimpl, OpDef
        @hookimpl
        def tensorflux_register_ops(registrar):
            registrar.op(OpDef("UndeclaredContractOp", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"}))
    """,
}


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("broken"), plugins=BROKEN_PLUGINS)


@pytest.fixture(scope="module")
def broken_run(broken_site):
    return run(broken_site, HEALTHY_RUN)


def test_import_and_healthy_plugins_survive_broken_ones(broken_run):
    assert broken_run.returncode == 0, broken_run.stderr
    assert "RESULT [2.0, 4.0]" in broken_run.stdout


@pytest.mark.parametrize("name, error", [
    ("raises_at_import", "import failed: RuntimeError: boom at import"),
    ("raises_in_hook", "tensorflux_register_kernels raised ValueError: kernel table is corrupt"),
    ("unknown_op_kernel", "registers a kernel for unknown op 'NoSuchOp'"),
    ("duplicate_device", "Device '/cpu:0' is already registered by plugin 'cpu'"),
])
def test_broken_plugin_is_listed_with_its_error(broken_run, name, error):
    rows = [line for line in broken_run.stdout.splitlines() if line.split()[:1] == [name]]
    assert rows and "broken" in rows[0], broken_run.stdout
    assert f"{name}: " in broken_run.stdout and error in broken_run.stdout


def test_a_plugin_without_a_contract_version_loads_with_a_warning_naming_it(broken_run):
    assert broken_run.stderr.count("tensorflux plugin 'no_contract' (tfx_test_plugin_no_contract) does not declare "
                                   "TENSORFLUX_CONTRACT") == 1, broken_run.stderr
    rows = [line for line in broken_run.stdout.splitlines() if line.split()[:1] == ["no_contract"]]
    assert rows and "ok" in rows[0], broken_run.stdout


def test_each_broken_plugin_warns_once(broken_run):
    for name in ("raises_at_import", "raises_in_hook", "unknown_op_kernel", "duplicate_device"):
        assert broken_run.stderr.count(f"tensorflux plugin '{name}' was skipped") == 1, broken_run.stderr


def test_incompatible_contract_names_plugin_both_versions_and_fix(broken_run):
    assert "targets plugin contract 7.0, but this tensorflux provides contract 1.0; upgrade tensorflux" \
        in broken_run.stdout
    assert "incompatible" in broken_run.stdout


def test_failed_registration_is_rolled_back(broken_site):
    result = run(broken_site, """
        import tensorflux as tf
        from tensorflux.extend import registered_ops
        print("HALF", "HalfRegistered" in registered_ops())
    """)
    assert "HALF False" in result.stdout, result.stderr


def test_import_does_not_discover_plugins(broken_site):
    result = run(broken_site, """
        import warnings
        warnings.simplefilter("error")
        import tensorflux as tf
        x = tf.constant(1.0) + 2.0
        from tensorflux._internal.plugins import MANAGER
        print("DISCOVERED", MANAGER._discovered)
    """)
    assert "DISCOVERED False" in result.stdout, result.stderr


def test_plugin_filter_denies_by_name(tmp_path):
    site = make_site(tmp_path, plugins={"raises_at_import": BROKEN_PLUGINS["raises_at_import"]})
    result = run(site, HEALTHY_RUN, env={"TENSORFLUX_PLUGINS": "-raises_at_import"})
    assert "disabled by TENSORFLUX_PLUGINS" in result.stdout
    assert "was skipped" not in result.stderr


def test_without_cpu_plugin_import_works_and_run_says_to_install(tmp_path):
    site = make_site(tmp_path, exclude=("tensorflux_cpu",))
    result = run(site, """
        import tensorflux as tf
        y = tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]), name="product")
        try:
            tf.Session().run(y)
        except tf.errors.NotFoundError as exc:
            print("ERROR", exc)
    """, cpu=False)
    assert result.returncode == 0, result.stderr
    assert "ERROR No kernel for op" in result.stdout
    assert "install one, e.g. `pip install tensorflux-cpu`" in result.stdout


def test_preferred_device_env_is_read(tmp_path):
    site = make_site(tmp_path, plugins={"second_cpu": """
        import numpy as np
        from tensorflux.extend import hookimpl, Device
        TENSORFLUX_CONTRACT = "1.0"
        class Other(Device):
            device_type = "other"
        @hookimpl
        def tensorflux_register_devices(registrar):
            registrar.device(Other(0))
        @hookimpl
        def tensorflux_register_kernels(registrar):
            registrar.kernel("AddV2", "other", lambda x, y: np.add(x, y) + 100)
    """})
    code = """
        import tensorflux as tf
        print("SUM", tf.Session().run(tf.constant(1.0) + tf.constant(2.0)))
    """
    assert "SUM 3.0" in run(site, code).stdout
    assert "SUM 103.0" in run(site, code, env={"TENSORFLUX_DEVICE": "other"}).stdout
