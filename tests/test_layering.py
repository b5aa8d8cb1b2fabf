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


# -- one-way imports inside core ---------------------------------------------------------------------------------
CORE = REPO / "core"
# The op families' gradient rules are written with each other's wrappers (the gradient of a reduction is a
# reshape and a tile, the gradient of a reshape's input is a reshape, of a slice a pad, of a product a product):
# that recursion is the math itself. Those imports sit inside the gradient functions, so the families still load
# one way; this package is the only place where the full graph may close a cycle.
CYCLES_ALLOWED_WITHIN = "tensorflux._internal.ops"


def _core_modules() -> dict:
    mods = {}
    for path in (CORE / "tensorflux").rglob("*.py"):
        parts = list(path.relative_to(CORE).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return mods


def _import_graph(load_time_only: bool) -> dict:
    """Module -> the core modules it imports: every import (module level, in functions, under TYPE_CHECKING), or
    only those that run when the module loads."""
    mods = _core_modules()
    graph = {}
    for name, (path, is_package) in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        base = name.split(".") if is_package else name.split(".")[:-1]
        nodes = ast.walk(tree)
        if load_time_only:
            nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        targets = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                package = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                for alias in node.names:
                    sub = f"{package}.{alias.name}"
                    targets.add(sub if sub in mods else package)
        graph[name] = {t for t in targets if t in mods and t != name}
    return graph


def _cycles(graph: dict) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _edges_within(component: list, graph: dict) -> list[str]:
    return [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]


def test_core_imports_run_one_way():
    graph = _import_graph(load_time_only=False)
    bad = [c for c in _cycles(graph) if not all(m.startswith(CYCLES_ALLOWED_WITHIN + ".") for m in c)]
    assert not bad, "import cycles in core (lower layers must not import upper ones):\n" + "\n".join(
        "  " + "\n  ".join(_edges_within(c, graph)) for c in bad)


def test_core_modules_load_one_way():
    graph = _import_graph(load_time_only=True)
    cycles = _cycles(graph)
    assert not cycles, "modules of core import each other at load time:\n" + "\n".join(
        "  " + "\n  ".join(_edges_within(c, graph)) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
