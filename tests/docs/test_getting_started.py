"""docs/getting-started.md stays runnable: each of its Python blocks runs in a fresh graph, and the page is in the nav."""

import re
from pathlib import Path

import pytest

import tensorflux as tf

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGE = DOCS / "getting-started.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), flags=re.MULTILINE | re.DOTALL)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_block_runs(source, capsys):
    tf.reset_default_graph()
    exec(compile(source, str(PAGE), "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out  # each block prints its result


def test_the_page_is_near_the_top_of_the_nav():
    nav = (DOCS.parent / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    pages = re.findall(r"^  - [^:]+: (\S+)$", nav, flags=re.MULTILINE)
    assert "getting-started.md" in pages[:2]
