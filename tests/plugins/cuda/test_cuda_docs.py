"""docs/cuda.md lists exactly the lines of the plugin that only run on a GPU; this keeps the list in step."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "plugins" / "cuda" / "tensorflux_cuda"
ROW = re.compile(r"^\| `(\w+\.py)` \| (\d+)-(\d+) \| (.*) \|$")


def _rows() -> list[tuple[str, int, int, str]]:
    text = (REPO / "docs" / "cuda.md").read_text()
    section = text.split("### The lines that run only on a GPU", 1)[1].split("\n## ", 1)[0]
    return [(m[1], int(m[2]), int(m[3]), m[4]) for m in map(ROW.match, section.splitlines()) if m]


def _definitions(tree: ast.AST) -> list:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def test_the_table_lists_the_cupy_backend_and_the_registration_tails():
    files = [row[0] for row in _rows()]
    assert files == ["backend.py", "device.py", "probe.py", "plugin.py", "plugin.py"], files


@pytest.mark.parametrize("file, first, last, what", _rows())
def test_each_listed_range_is_a_whole_definition_or_the_tail_after_a_no_gpu_return(file, first, last, what):
    source = (PACKAGE / file).read_text()
    tree = ast.parse(source)
    named = re.match(r"`(\w+)`:", what)
    if named:  # a whole class or function, decorators aside
        node = next((n for n in _definitions(tree) if n.name == named[1]), None)
        assert node is not None, f"{file} defines no {named[1]}"
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        assert (node.lineno, node.end_lineno) == (first, last) or (start, node.end_lineno) == (first, last), (
            f"{named[1]} is at {file}:{node.lineno}-{node.end_lineno}, the docs say {first}-{last}")
        return
    # otherwise: the rest of a function after the `return` taken when there is no GPU
    function = next(n for n in _definitions(tree) if isinstance(n, ast.FunctionDef) and n.lineno < first <= n.end_lineno)
    assert function.end_lineno == last, f"{function.name} ends at line {function.end_lineno}, the docs say {last}"
    returns = [n.lineno for n in ast.walk(function) if isinstance(n, ast.Return)]
    assert returns and max(returns) < first and all(
        not source.splitlines()[i - 1].strip() for i in range(max(returns) + 1, first)), (
        f"{file}:{first} does not follow {function.name}'s no-GPU return")
