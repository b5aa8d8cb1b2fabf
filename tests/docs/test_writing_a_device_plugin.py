"""docs/writing-a-device-plugin.md stays true to its worked example, the strict test device, and is in the nav."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "writing-a-device-plugin.md"
PLUGIN = REPO / "tests" / "sdk" / "strict_device" / "plugin.py"
BLOCKS = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), flags=re.MULTILINE | re.DOTALL)


def test_the_page_shows_the_strict_device_plugin_as_it_is():
    assert PLUGIN.read_text() in BLOCKS, "the page's copy of tests/sdk/strict_device/plugin.py is out of date"


def test_the_page_promises_what_the_plugin_keeps():
    promised = int(re.search(r"in under (\d+) lines", PAGE.read_text()).group(1))
    assert len(PLUGIN.read_text().splitlines()) < promised


def test_the_page_is_in_the_nav():
    nav = (REPO / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    assert "writing-a-device-plugin.md" in re.findall(r"^  - [^:]+: (\S+)$", nav, flags=re.MULTILINE)
