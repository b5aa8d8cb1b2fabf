"""tf.ConfigProto and its nested options: TF 1.x's field names, checked by name and type when set."""

import re

import pytest

import tensorflux as tf
from tensorflux._internal.session_config import session_config

TF1_STYLE = dict(log_device_placement=True, allow_soft_placement=True, device_count={"GPU": 0, "CPU": 1},
                 inter_op_parallelism_threads=2, intra_op_parallelism_threads=4,
                 gpu_options=tf.GPUOptions(allow_growth=True, per_process_gpu_memory_fraction=0.4),
                 graph_options=tf.GraphOptions(optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0)))


def test_the_fields_tf1_scripts_pass_are_accepted_and_kept():
    config = tf.ConfigProto(**TF1_STYLE)
    for name, value in TF1_STYLE.items():
        assert getattr(config, name) == value, name
    with tf.Session(config=config) as sess:
        assert sess.run(tf.constant(2.0) * 3.0) == 6.0


def test_nested_options_are_set_in_place_as_in_tf():
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    config.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
    assert config.gpu_options.allow_growth is True
    assert config.graph_options.optimizer_options.global_jit_level == tf.OptimizerOptions.ON_1
    assert tf.ConfigProto().gpu_options.allow_growth is False  # each config has options of its own


def test_defaults_are_tfs_except_soft_placement():
    config = tf.ConfigProto()
    assert config.allow_soft_placement is True  # TF 1.x: False; ops fall back here unless asked not to
    assert config.log_device_placement is False
    assert (config.inter_op_parallelism_threads, config.intra_op_parallelism_threads, config.device_count) == (0, 0, {})


def test_an_unknown_field_names_itself_and_the_known_ones():
    known = ", ".join(["log_device_placement", "allow_soft_placement", "plan_cache_size", "disable_passes"])
    with pytest.raises(TypeError, match=rf"ConfigProto has no field 'log_device_placment'; known fields: {known}, "):
        tf.ConfigProto(log_device_placment=True)
    with pytest.raises(AttributeError, match="GPUOptions has no field 'allow_grow'; known fields: allow_growth, "):
        tf.ConfigProto().gpu_options.allow_grow = True
    with pytest.raises(TypeError, match="GraphOptions has no field 'optimiser_options'"):
        tf.ConfigProto(graph_options={"optimiser_options": None})


@pytest.mark.parametrize("field, value, expected", [
    ("log_device_placement", 1, "a bool"),
    ("allow_soft_placement", "no", "a bool"),
    ("intra_op_parallelism_threads", 2.5, "an int"),
    ("device_count", ["GPU"], "a dict of device type to count"),
    ("device_filters", "/cpu:0", "a list of str"),
])
def test_a_value_of_the_wrong_type_names_the_field_the_type_and_the_value(field, value, expected):
    with pytest.raises(TypeError, match=rf"ConfigProto\.{field} must be {expected}.*{re.escape(repr(value))}"):
        tf.ConfigProto(**{field: value})


def test_a_bad_nested_value_names_its_full_path():
    with pytest.raises(TypeError, match=r"ConfigProto\.device_count\['GPU'\] must be an int, got 0\.5"):
        tf.ConfigProto(device_count={"GPU": 0.5})
    with pytest.raises(TypeError, match=r"GPUOptions\.per_process_gpu_memory_fraction must be a number >= 0"):
        tf.ConfigProto().gpu_options.per_process_gpu_memory_fraction = -0.5


def test_session_config_takes_none_dicts_configs_and_look_alike_objects():
    class TensorFlowsOwn:  # what a TF ConfigProto looks like to getattr: every field present
        log_device_placement = True
        allow_soft_placement = False
        gpu_options = type("GPUOptions", (), {"allow_growth": True, "visible_device_list": ""})()

    assert session_config(None) == tf.ConfigProto()
    assert session_config({"plan_cache_size": 8}) == tf.ConfigProto(plan_cache_size=8)
    converted = session_config(TensorFlowsOwn())
    assert converted == tf.ConfigProto(log_device_placement=True, allow_soft_placement=False,
                                       gpu_options=tf.GPUOptions(allow_growth=True))
    original = tf.ConfigProto(log_device_placement=True)
    copied = session_config(original)
    copied.gpu_options.allow_growth = True
    assert copied is not original and original.gpu_options.allow_growth is False
    with pytest.raises(TypeError, match="Session config must be a ConfigProto or a dict of its fields"):
        session_config(42)


def test_configs_compare_by_value_and_show_what_differs_from_the_defaults():
    assert tf.ConfigProto(allow_soft_placement=False) == tf.ConfigProto(allow_soft_placement=False)
    assert tf.ConfigProto(allow_soft_placement=False) != tf.ConfigProto()
    assert repr(tf.ConfigProto(allow_soft_placement=False)) == "ConfigProto(allow_soft_placement=False)"
