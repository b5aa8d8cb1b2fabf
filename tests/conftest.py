"""Shared fixtures: every test gets a fresh default graph."""

import pytest

import tensorflux as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
