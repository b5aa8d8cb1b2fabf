"""Property-based fuzzing of every parser (issue 20): for random bytes, bit flips and truncations of valid files,
and crafted protos claiming huge sizes, a parser succeeds or raises one of the library's own errors, and its
traced peak memory stays bounded. A short run here; ``make fuzz`` runs the coverage-guided one (tests/fuzz/run.py).
"""

from __future__ import annotations

import tracemalloc
import warnings

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.hostile_inputs import LIBRARY_ERRORS, PARSERS, crafted_graph_protos, seeds

SEEDS = seeds()
# Rejecting or accepting any input here must not trace more than this (the expansion limit is lowered to 16 MiB).
PEAK_BYTES = 64 * 2**20
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def run_bounded(parser: str, data: bytes) -> None:
    """Run one parser on ``data``: success, or a library error; and bounded traced memory."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            PARSERS[parser](data)
    except LIBRARY_ERRORS:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{parser}: traced peak {peak / 2**20:.0f} MiB on a {len(data)}-byte input"


@st.composite
def mutated(draw: st.DrawFn, parser: str) -> bytes:
    """A valid file of ``parser`` with a few bits flipped, bytes overwritten, or the tail cut off."""
    data = bytearray(draw(st.sampled_from(SEEDS[parser])))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "byte", "cut", "dup"]))
        if action == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif action == "byte":
            data[pos] = draw(st.sampled_from([0, 0x7F, 0x80, 0xFF, ord("{"), ord(":")]))
        elif action == "cut":
            del data[pos:]
        else:
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 16))]
    return bytes(data)


@pytest.fixture(autouse=True)
def low_limit(monkeypatch):
    monkeypatch.setenv("TENSORFLUX_MAX_EXPANDED_BYTES", "16M")


@pytest.mark.parametrize("parser", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes(parser, data):
    run_bounded(parser, data)


@pytest.mark.parametrize("parser", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_valid_files(parser, data):
    run_bounded(parser, data.draw(mutated(parser)))


@pytest.mark.parametrize("data", crafted_graph_protos(), ids=range(len(crafted_graph_protos())))
@pytest.mark.parametrize("parser", ["graph_def", "graph_def_file"])
def test_crafted_graph_protos_claiming_huge_sizes(parser, data):
    run_bounded(parser, data)


@FUZZ
@given(count=st.integers(0, 2**63 - 1), dims=st.integers(1, 4))
def test_const_claims_any_size(count, dims):
    from tests.hostile_inputs import const_bomb

    gdef = const_bomb(count)
    for _ in range(dims - 1):
        gdef.node[0].attr["value"].tensor.tensor_shape.dim.add(size=count)
    run_bounded("graph_def", gdef.SerializeToString())
