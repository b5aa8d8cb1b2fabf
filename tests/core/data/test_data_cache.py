"""cache(): the first complete pass is recorded and replayed (checked against TF and by counting reads)."""

import pytest

import tensorflux as tf
from tests.core.data.pipelines import drain


def test_cache_then_repeat_matches_tf(both):
    both(lambda t: t.data.Dataset.range(5).map(lambda x: x * x).cache().repeat(3))


def test_later_passes_read_the_cache_not_the_input():
    reads = []

    def generate():
        for i in range(4):
            reads.append(i)
            yield i

    elements, _ = drain(tf, lambda t: t.data.Dataset.from_generator(generate, t.int64, []).cache().repeat(3))
    assert [int(e) for e in elements] == [0, 1, 2, 3] * 3
    assert reads == [0, 1, 2, 3]


def test_a_cut_pass_records_nothing():
    reads = []

    def generate():
        for i in range(4):
            reads.append(i)
            yield i

    elements, _ = drain(tf, lambda t: t.data.Dataset.from_generator(generate, t.int64, []).cache().take(2).repeat(2))
    assert [int(e) for e in elements] == [0, 1, 0, 1]
    assert reads == [0, 1, 0, 1]


def test_file_cache_is_refused():
    with pytest.raises(NotImplementedError, match="caching to a file"):
        tf.data.Dataset.range(3).cache("/tmp/cache")
