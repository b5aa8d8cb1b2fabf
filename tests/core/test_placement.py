"""Placement around a device that cannot run an op: asked before placing, or found out by a kernel at run time.

A real plugin (entry point in a temporary site) registers a device whose driver, like PoCL on some hosts,
cannot build some kernels; the session must place those ops elsewhere and say why.
"""

import json

import numpy as np
import pytest

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
        registrar.kernel("Neg", "flaky", np.negative)

    @hookimpl
    def tensorflux_versions():
        return {"flaky-driver": "1.2.3"}
"""

CODE = """
    import warnings
    import tensorflux as tf

    def messages(caught):
        # a plan's one warning lists its moved ops on lines of their own; keep the report on one output line
        return " | ".join(str(w.message).replace("\\n", " ") for w in caught if "flaky" in str(w.message))

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


# -- what a session's config asks of placement: log it, refuse a fallback, or report the fallbacks once per plan --
PINNED_GRAPH = """
    import json
    import warnings
    import numpy as np
    import tensorflux as tf

    x = tf.placeholder(tf.float32, [2, 2], name="x")
    with tf.device("/flaky:0"):
        product = tf.matmul(x, x, name="product")  # flaky has a MatMul kernel, but cannot build it
        gap = tf.subtract(product, x, name="gap")  # flaky has no Sub kernel at all
        flipped = tf.negative(gap, name="flipped")  # flaky runs this one
        lonely = tf.subtract(x, x, name="lonely")
        negated = tf.negative(x, name="negated")
    feed = {x: np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)}

    def placement_warnings(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn()
        return value, [str(w.message) for w in caught if w.category.__name__ == "PlacementWarning"]
"""

SOFT = PINNED_GRAPH + """
    sess = tf.Session(config=tf.ConfigProto(log_device_placement=True))
    values, first = placement_warnings(lambda: [sess.run(flipped, feed) for _ in range(3)])
    import sys
    sys.stderr.write("-- second plan --\\n")
    _, second = placement_warnings(lambda: sess.run(gap, feed))
    print(json.dumps({"first": first, "second": second, "flipped": [v.tolist() for v in values],
                      "x": feed[x].tolist()}))
"""


@pytest.fixture(scope="module")
def soft_run(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("soft"), plugins={"flaky": FLAKY_PLUGIN})
    result = run(site, SOFT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


def test_fallbacks_are_reported_in_one_warning_per_plan_listing_each_op(soft_run):
    out, _ = soft_run
    assert len(out["first"]) == 1, out["first"]  # three runs of one plan: one warning
    report = out["first"][0].splitlines()
    assert report[0] == "2 ops of this plan run on another device than the one asked for:"
    assert report[1:] == ["  Op 'product' (MatMul) cannot run on /flaky:0 (its driver cannot build the gemm); it runs "
                          "on /cpu:0 instead",
                          "  Op 'gap' (Sub) has no kernel on /flaky:0; it runs on /cpu:0 instead"]
    assert len(out["second"]) == 1 and "'flipped'" not in out["second"][0]  # a new plan reports its own moves
    x = np.array(out["x"], np.float32)
    for value in out["flipped"]:
        np.testing.assert_allclose(value, -(x @ x - x))  # flaky's Neg, after the cpu's MatMul and Sub


def test_log_device_placement_prints_each_op_once_per_plan(soft_run):
    _, stderr = soft_run
    first, second = stderr.split("-- second plan --\n")
    assert first.count("Device placement of a new plan (3 ops):") == 1
    for line in ("product: (MatMul): /cpu:0 (fell back from /flaky:0)", "gap: (Sub): /cpu:0 (fell back from /flaky:0)",
                 "flipped: (Neg): /flaky:0"):
        assert first.splitlines().count(line) == 1, first  # the plan ran three times, and was placed once
    assert "Device placement of a new plan (2 ops):" in second and "flipped" not in second


STRICT = PINNED_GRAPH + """
    sess = tf.Session(config=tf.ConfigProto(allow_soft_placement=False))
    out = {}
    for fetch in (product, lonely):
        try:
            sess.run(fetch, feed)
        except tf.errors.InvalidArgumentError as exc:
            out[fetch.op.name] = [str(exc), exc.op.name]
    out["negated"], out["warned"] = placement_warnings(lambda: sess.run(negated, feed).tolist())
    out["x"] = feed[x].tolist()
    print(json.dumps(out))
"""


def test_without_soft_placement_an_op_pinned_where_it_cannot_run_is_an_error(tmp_path):
    result = run(make_site(tmp_path, plugins={"flaky": FLAKY_PLUGIN}), STRICT)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    message, op = out["product"]
    assert op == "product"
    assert message.startswith("Op 'product' (MatMul) is pinned to /flaky:0, which cannot run it (its driver cannot "
                              "build the gemm), and the session's config has allow_soft_placement=False; devices "
                              "that have a kernel for it: /cpu:0."), message
    message, op = out["lonely"]
    assert op == "lonely" and "Op 'lonely' (Sub) is pinned to /flaky:0, which has no kernel for it" in message
    assert "devices that have a kernel for it: /cpu:0." in message
    # an op its device can run still runs there, with nothing to report
    np.testing.assert_array_equal(out["negated"], -np.array(out["x"], np.float32))
    assert out["warned"] == []
