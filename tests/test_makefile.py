"""The Makefile's installs: `make install` and `make demo` leave TensorFlow out, `make test` brings it in."""

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _extras() -> dict[str, list[str]]:
    """pyproject.toml's [project.optional-dependencies], one list a line (tomllib is not in Python 3.10)."""
    table = (REPO / "pyproject.toml").read_text().split("[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    return {m[1]: ast.literal_eval(m[2]) for m in re.finditer(r"^([\w-]+) = (\[.*\])$", table, flags=re.MULTILINE)}


EXTRAS = _extras()
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _installed_requirements(target: str) -> list[str]:
    """What the pip commands of `make <target>` on a fresh machine would install from the core's extras."""
    # -n prints the recipes without running them; -B as if nothing had been installed yet.
    script = subprocess.run(["make", "-n", "-B", "-C", str(REPO), target], capture_output=True, text=True, timeout=60,
                            check=True).stdout
    requirements = []
    for line in script.splitlines():
        if "pip install" in line:
            for extras in re.findall(r"-e '\.\[([^\]]*)\]'", line):
                requirements += [req for extra in extras.split(",") for req in EXTRAS[extra.strip()]]
            requirements += [word.strip("'\"") for word in line.split()]  # named outright, not through an extra
    return requirements


def _tensorflow(requirements: list[str]) -> list[str]:
    return [r for r in requirements if re.match(r"(tensorflow|tf[-_]keras)\b", r, re.IGNORECASE)]


@pytest.mark.parametrize("target", ["install", "demo", "docs"])
def test_targets_other_than_test_do_not_install_tensorflow(target):
    requirements = _installed_requirements(target)
    assert requirements, f"make {target} installs none of the core's extras"
    assert not _tensorflow(requirements), f"make {target} installs {_tensorflow(requirements)}"


def test_make_test_installs_tensorflow_for_the_interop_tests():
    assert _tensorflow(_installed_requirements("test"))
