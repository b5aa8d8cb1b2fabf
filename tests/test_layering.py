"""The layering rules: core never imports a plugin; plugins, examples and benchmarks import nothing private;
every core module imports cleanly with warnings turned into errors."""

import ast
import importlib
import pkgutil
import warnings
from pathlib import Path

import pytest

import tensorflux

REPO = Path(__file__).resolve().parents[1]
PLUGIN_PACKAGES = {p.name for d in (REPO / "plugins").iterdir() for p in d.glob("tensorflux_*") if p.is_dir()}


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return names


def _files(*roots: str) -> list[Path]:
    return [p for r in roots for p in (REPO / r).rglob("*.py") if "_pb2" not in p.name]


@pytest.mark.parametrize("path", _files("plugins", "examples", "benchmarks"), ids=lambda p: str(p.relative_to(REPO)))
def test_outside_core_imports_nothing_private(path):
    private = [n for n in _imports(path) if n.startswith("tensorflux._internal") or n == "tensorflux._internal"]
    assert not private, f"{path.relative_to(REPO)} imports private core modules: {private}"


@pytest.mark.parametrize("path", _files("core"), ids=lambda p: str(p.relative_to(REPO)))
def test_core_never_imports_a_plugin(path):
    bad = [n for n in _imports(path) if n.split(".")[0] in PLUGIN_PACKAGES]
    assert not bad, f"{path.relative_to(REPO)} imports plugin packages: {bad}"


def test_every_core_module_imports_without_warnings():
    names = [m.name for m in pkgutil.walk_packages(tensorflux.__path__, "tensorflux.")
             if not m.name.startswith("tensorflux.testing.conformance")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in names:
            importlib.import_module(name)
    assert len(names) > 30
