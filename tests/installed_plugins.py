"""Plugins installed in this process through real entry points: a dist-info put on ``sys.path``.

Nothing is mocked: ``importlib.metadata`` finds the entry points and core's plugin manager discovers them
again, as it would after ``pip install``. Leaving the context forgets them and rediscovers without them.
(tests/plugin_sandbox.py does the same in a subprocess; in-process, pytest can collect a whole suite,
such as the conformance suite, against the installed device.)
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Iterator

from tensorflux._internal.plugins import reload_for_tests
from tensorflux.extend import ensure_discovered


@contextlib.contextmanager
def installed(root: Path, entry_points: dict[str, str], modules: dict[str, str] | None = None) -> Iterator[list]:
    """Install ``entry_points`` ({name: module}) plus throwaway ``modules`` ({module: source}); yield the
    warnings discovery gave."""
    site = root / "site"
    dist = site / "tfx_sdk_test_plugins-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tfx-sdk-test-plugins\nVersion: 0.1\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[tensorflux.plugins]\n{lines}")
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    reload_for_tests()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ensure_discovered()
        yield caught
    finally:
        sys.path.remove(str(site))
        for module in modules or {}:
            sys.modules.pop(module, None)
        reload_for_tests()
