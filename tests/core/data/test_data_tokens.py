"""Tokens: a kernel finds the datasets of a live graph by name, and a dropped graph leaves nothing behind."""

import gc

import pytest

import tensorflux as tf
from tensorflux._internal.data.tokens import lookup, register


def test_a_token_finds_its_object_while_the_graph_lives_and_not_after():
    graph = tf.Graph()
    token = register(graph, "dataset", ["payload"])
    assert lookup(token, "op 'x'") == ["payload"]
    del graph
    gc.collect()
    with pytest.raises(tf.errors.NotFoundError, match=r"op 'x': no dataset or iterator 'dataset_\d+'"):
        lookup(token, "op 'x'")
