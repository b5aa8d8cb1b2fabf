"""docs/tf-compat.md stays true: names marked same/differs exist, names marked missing do not."""

import re
from pathlib import Path

import pytest

import tensorflux as tf

TABLE = Path(__file__).resolve().parents[2] / "docs" / "tf-compat.md"


def _rows():
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] in ("same", "differs", "missing"):
            for name in re.findall(r"`tf\.([A-Za-z_][\w.]*)`", cells[0]):
                yield pytest.param(name, cells[1], id=name)


def _resolve(name):
    obj = tf
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("name, status", list(_rows()))
def test_table_entry_matches_the_library(name, status):
    if name.endswith("_*"):
        assert not [n for n in dir(tf) if n.startswith(name[:-1])]
        return
    if status == "missing":
        with pytest.raises(AttributeError):
            _resolve(name)
    else:
        assert callable(_resolve(name)) or _resolve(name) is not None
