"""The command line: human-readable tables by default, JSON with --json."""

import json
import shutil
import subprocess
import sys

from tensorflux.__main__ import main


def _json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plugins_lists_core_and_cpu_with_versions_and_contract(capsys):
    by_name = {p["name"]: p for p in _json(capsys, "plugins")}
    assert by_name["cpu"]["status"] == "ok" and by_name["cpu"]["devices"] == ["/cpu:0"]
    assert by_name["cpu"]["contract"] == "1.0" and by_name["cpu"]["kernels"] > 50
    assert "MatMul" in by_name["core"]["ops"]


def test_devices_lists_cpu_with_properties(capsys):
    devices = _json(capsys, "devices")["devices"]
    assert devices[0]["device"] == "/cpu:0" and devices[0]["plugin"] == "cpu" and "compute units" in devices[0]


def test_ops_matrix_filters_by_device_and_shows_dtypes(capsys):
    rows = _json(capsys, "ops", "--device", "cpu")
    matmul = [r for r in rows if r["op"] == "MatMul"]
    assert len(matmul) == 1 and matmul[0]["kernels"]["cpu"] == "any"  # other installed devices may add columns
    assert _json(capsys, "ops", "--device", "nosuchdevice") == []


def test_info_reports_versions(capsys):
    info = _json(capsys, "info")
    assert info["versions"]["numpy"] and info["plugins"]["cpu"].endswith("(ok)")


def test_human_output_and_console_script(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "version", "contract", "status", "devices", "kernels", "provides"]
    script = shutil.which("tensorflux") or str(__import__("pathlib").Path(sys.executable).parent / "tensorflux")
    result = subprocess.run([script, "devices"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "/cpu:0" in result.stdout
