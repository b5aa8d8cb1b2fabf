"""Placement around a device that cannot run an op: asked before placing, or found out by a kernel at run time.

A real plugin (entry point in a temporary site) registers a device whose driver, like PoCL on some hosts,
cannot build some kernels; the session must place those ops elsewhere and say why.
"""

from tests.plugin_sandbox import make_site, run

FLAKY_PLUGIN = """
    import numpy as np
    from tensorflux.extend import hookimpl, Device, KernelUnavailable
    TENSORFLUX_CONTRACT = "1.0"

    class Flaky(Device):
        device_type = "flaky"

        def unavailable(self, op_type, attrs):
            if op_type == "MatMul":
                return "its driver cannot build the gemm"
            return super().unavailable(op_type, attrs)

        def health_check(self):
            return "the test kernel computed 3, expected 2"

    @hookimpl
    def tensorflux_register_devices(registrar):
        registrar.device(Flaky(0))

    @hookimpl
    def tensorflux_register_kernels(registrar):
        registrar.kernel("MatMul", "flaky", lambda a, b: np.full((a.shape[0], b.shape[1]), 99.0, a.dtype))
        def broken_mul(x, y):
            raise KernelUnavailable("program 'mul' lacks its kernels")
        registrar.kernel("Mul", "flaky", broken_mul)

    @hookimpl
    def tensorflux_versions():
        return {"flaky-driver": "1.2.3"}
"""

CODE = """
    import warnings
    import tensorflux as tf

    def messages(caught):
        return " | ".join(str(w.message) for w in caught if "flaky" in str(w.message))

    with tf.device("/flaky:0"):
        product = tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]), name="product")
        twice = tf.multiply(tf.constant(2.0), tf.constant(3.0), name="twice")
    sess = tf.Session()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        print("PRODUCT", sess.run(product).tolist())
    print("WARNED", messages(caught))
    try:
        sess.run(twice)
    except tf.errors.UnavailableError as exc:
        print("UNAVAILABLE", exc)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        print("TWICE", sess.run(twice))
    print("WARNED AGAIN", messages(caught))
"""


def _lines(stdout: str) -> dict:
    return {line.split(" ", 1)[0] + (" AGAIN" if line.startswith("WARNED AGAIN") else ""): line for line in
            stdout.splitlines()}


def test_an_op_the_device_cannot_run_is_placed_elsewhere_with_the_reason(tmp_path):
    result = run(make_site(tmp_path, plugins={"flaky": FLAKY_PLUGIN}), CODE)
    assert result.returncode == 0, result.stderr
    out = _lines(result.stdout)
    assert out["PRODUCT"] == "PRODUCT [[2.0, 2.0], [2.0, 2.0]]"  # the cpu's product, not the flaky kernel's 99s
    assert ("Op 'product' (MatMul) cannot run on /flaky:0 (its driver cannot build the gemm); it runs on /cpu:0 "
            "instead") in out["WARNED"]


def test_a_kernel_that_finds_its_device_unable_fails_the_run_then_the_op_moves(tmp_path):
    result = run(make_site(tmp_path, plugins={"flaky": FLAKY_PLUGIN}), CODE)
    assert result.returncode == 0, result.stderr
    out = _lines(result.stdout)
    assert ("op 'twice' (Mul) cannot run on its device: program 'mul' lacks its kernels; the session's next run "
            "places it on another device") in out["UNAVAILABLE"]
    assert out["TWICE"] == "TWICE 6.0"
    assert "Op 'twice' (Mul) cannot run on /flaky:0 (program 'mul' lacks its kernels)" in out["WARNED AGAIN"]


def test_devices_shows_a_failing_health_check_and_info_the_plugin_versions(tmp_path):
    site = make_site(tmp_path, plugins={"flaky": FLAKY_PLUGIN})
    code = """
        import json
        from tensorflux.__main__ import devices_report, info_report, main
        flaky = next(d for d in devices_report()["devices"] if d["device"] == "/flaky:0")
        print("HEALTH", flaky["health"])
        print("VERSIONS", json.dumps(info_report()["plugin_dependencies"]["flaky"]))
        main(["devices"])
    """
    result = run(site, code)
    assert result.returncode == 0, result.stderr
    assert "HEALTH unhealthy: the test kernel computed 3, expected 2" in result.stdout
    assert 'VERSIONS {"flaky-driver": "1.2.3"}' in result.stdout
    assert "/flaky:0 is unhealthy: the test kernel computed 3, expected 2" in result.stdout
