"""tf.logging: levels, verbosity, and the per-call-site counters of log_every_n / log_first_n."""

import logging

import pytest

import tensorflux as tf


@pytest.fixture
def records(caplog):
    old = tf.logging.get_verbosity()
    caplog.set_level(logging.DEBUG, logger="tensorflux")
    yield caplog
    tf.logging.set_verbosity(old)


def test_levels_are_the_standard_ones():
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR, tf.logging.FATAL) == (
        logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)


def test_functions_log_at_their_level(records):
    tf.logging.debug("d %d", 1)
    tf.logging.info("i %s", "x")
    tf.logging.warning("w")
    tf.logging.warn("w2")
    tf.logging.error("e")
    tf.logging.fatal("f")
    tf.logging.log(tf.logging.INFO, "l")
    got = [(r.levelno, r.getMessage(), r.name) for r in records.records]
    assert got == [(10, "d 1", "tensorflux"), (20, "i x", "tensorflux"), (30, "w", "tensorflux"),
                   (30, "w2", "tensorflux"), (40, "e", "tensorflux"), (50, "f", "tensorflux"),
                   (20, "l", "tensorflux")]


def test_set_verbosity_filters(records):
    tf.logging.set_verbosity(tf.logging.ERROR)
    assert tf.logging.get_verbosity() == tf.logging.ERROR
    tf.logging.info("hidden")
    tf.logging.error("shown")
    assert [r.getMessage() for r in records.records] == ["shown"]


def test_every_n_and_first_n_count_per_call_site(records):
    for step in range(7):
        tf.logging.log_every_n(tf.logging.INFO, "every %d", 3, step)
        tf.logging.log_first_n(tf.logging.INFO, "first %d", 2, step)
    messages = [r.getMessage() for r in records.records]
    assert [m for m in messages if m.startswith("every")] == ["every 0", "every 3", "every 6"]
    assert [m for m in messages if m.startswith("first")] == ["first 0", "first 1"]
