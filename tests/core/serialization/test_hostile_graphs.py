"""Crafted GraphDefs and MetaGraphDefs (issue 20): sizes checked before allocating, dtype agreement, atomic
import, and only the library's errors, naming the file and node."""

from __future__ import annotations

import pytest

import tensorflux as tf
from tensorflux.proto import graph_pb2
from tests.hostile_inputs import PEAK_RSS_LIMIT_MB, REJECT, const_bomb, peak_rss_mb


@pytest.mark.parametrize("count", [6 * 10**8, 10**12, 2**62])
def test_const_claiming_more_elements_than_it_holds_is_refused_before_allocating(count):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"node 'c'.*TENSORFLUX_MAX_EXPANDED_BYTES") as info:
        tf.import_graph_def(const_bomb(count), name="")
    assert str(4 * count) in str(info.value)
    assert tf.get_default_graph().get_operations() == []


def test_const_bomb_is_refused_under_300_mb_peak_rss():
    call = "tf.import_graph_def(hostile.const_bomb(6 * 10**8), name='')"
    rss, result = peak_rss_mb(REJECT.format(call=call))
    assert result["error"] == "InvalidArgumentError" and result["library"], result
    assert rss < PEAK_RSS_LIMIT_MB, f"peak RSS {rss:.0f} MB while rejecting a 56-byte Const claiming 6e8 floats"


def test_repeated_value_expands_up_to_the_limit_the_user_can_raise(monkeypatch):
    monkeypatch.setenv("TENSORFLUX_MAX_EXPANDED_BYTES", "1K")
    with pytest.raises(tf.errors.InvalidArgumentError, match="over the limit of 1024 bytes"):
        tf.import_graph_def(const_bomb(257), name="a")
    (c,) = tf.import_graph_def(const_bomb(256), name="b", return_elements=["c:0"])
    with tf.Session() as sess:
        value = sess.run(c)
    assert value.shape == (256,) and (value == 1.0).all()
    monkeypatch.setenv("TENSORFLUX_MAX_EXPANDED_BYTES", "2K")
    tf.import_graph_def(const_bomb(257), name="a")


def test_const_dtype_attr_must_agree_with_its_value():
    int32, float32 = tf.int32.enum, tf.float32.enum
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"node 'c' \(Const\) has attr dtype int32, but its value "
                                                             r"is a float32 tensor"):
        tf.import_graph_def(const_bomb(4, dtype=int32, value_dtype=float32), name="")
    assert tf.get_default_graph().get_operations() == []


def _two_node_graph_with_a_bad_second_node() -> graph_pb2.GraphDef:
    gdef = const_bomb(1)
    gdef.node.add(name="d", op="Identity", input=["c"]).attr["T"].type = tf.float32.enum
    gdef.node.add(name="bad", op="Identity", input=["d:7"]).attr["T"].type = tf.float32.enum
    return gdef


def test_failed_import_leaves_the_graph_exactly_as_before_and_a_retry_succeeds():
    g = tf.get_default_graph()
    before = tf.constant(0.0, name="x")
    tf.add_to_collection("things", before)
    state = (list(g.get_operations()), dict(g._names_in_use), {k: list(v) for k, v in g._collections.items()},
             g.version, list(before._consumers))
    for name in ("", "imp"):
        with pytest.raises(tf.errors.InvalidArgumentError, match="node 'bad' .*reads 'd:7'"):
            tf.import_graph_def(_two_node_graph_with_a_bad_second_node(), name=name)
        after = (list(g.get_operations()), dict(g._names_in_use), {k: list(v) for k, v in g._collections.items()},
                 g.version, list(before._consumers))
        assert after == state
    good = const_bomb(1)
    good.node.add(name="d", op="Identity", input=["c"]).attr["T"].type = tf.float32.enum
    tf.import_graph_def(good, name="")
    (d,) = tf.import_graph_def(good, name="imp", return_elements=["d:0"])
    assert d.name == "imp/d:0"  # the failed imports did not use up the scope name 'imp'


def test_failed_meta_graph_import_rolls_back_its_collections_too(tmp_path):
    g = tf.Graph()
    with g.as_default():
        tf.add_to_collection("outputs", tf.constant(1.0, name="c"))
        meta = tf.train.export_meta_graph()
    meta.collection_def["broken"].node_list.value.append("ghost:0")
    with pytest.raises(tf.errors.InvalidArgumentError, match="collection 'broken' names 'ghost:0'"):
        tf.train.import_meta_graph(meta)
    assert tf.get_default_graph().get_operations() == [] and tf.get_collection("outputs") == []
    del meta.collection_def["broken"]
    tf.train.import_meta_graph(meta)
    assert [op.name for op in tf.get_default_graph().get_operations()] == ["c"]


def test_random_bytes_as_graph_def_raise_data_loss_error():
    with pytest.raises(tf.errors.DataLossError, match="serialized graph_def"):
        tf.import_graph_def(b"\x0a\xff\xff\xff\xff\x0f", name="")


def test_deeply_nested_text_meta_graph_raises_data_loss_error_naming_the_file(tmp_path):
    path = tmp_path / "deep.meta"
    path.write_text("meta_info_def { " + "any_info { " * 20000 + "}" * 20000 + " }")
    with pytest.raises(tf.errors.DataLossError, match=f"{path}"):
        tf.train.import_meta_graph(str(path))


def test_a_directory_as_meta_graph_file_raises_data_loss_error(tmp_path):
    with pytest.raises(tf.errors.DataLossError, match=f"'{tmp_path}' cannot be read"):
        tf.train.import_meta_graph(str(tmp_path))
