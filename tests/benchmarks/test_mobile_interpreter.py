"""Smoke test: the mobile benchmark runs end to end at tiny size. It measures nothing."""

import json

import pytest


def test_mobile_benchmark_runs_tiny(capsys):
    pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (LiteRT) is not installed")
    from benchmarks import mobile_interpreter

    assert mobile_interpreter.main(["--size", "tiny", "--steps", "2", "--rounds", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["five_op_invoke_us"]["tensorflux_mobile"] > 0 and report["five_op_invoke_us"]["litert"] > 0
    cnn = report.get("mnist_cnn")
    if isinstance(cnn, dict):
        assert set(cnn["sizes"]) == {"float32", "float16", "dynamic", "int8"}
        assert cnn["int8_share_of_float32"] < 0.26
