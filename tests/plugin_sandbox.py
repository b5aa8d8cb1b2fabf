"""Run Python in a subprocess whose installed distributions we choose, to test real entry-point discovery.

The sandbox's site directory links every distribution of the test venv except those excluded,
and adds throwaway plugin distributions (a module plus a ``.dist-info`` with ``entry_points.txt``,
exactly what pip writes). Nothing is mocked: core discovers them through importlib.metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE = Path(sysconfig.get_paths()["purelib"])


def make_site(root: Path, exclude: tuple = (), plugins: dict | None = None) -> Path:
    """Build a site dir under ``root``; ``plugins`` maps entry-point name -> module source."""
    site = root / "site"
    site.mkdir(parents=True)
    # run() puts only the cpu plugin's source on the path, so other editable repo plugins (opencl, ...) would
    # be entry points naming modules the sandbox cannot import: leave them out.
    others = tuple(f"tensorflux_{p.name}" for p in (REPO / "plugins").iterdir()
                   if p.name != "cpu" and (p / "pyproject.toml").exists())
    banned = tuple(x.replace("-", "_") for x in exclude) + others
    for entry in SITE.iterdir():
        name = entry.name.replace("-", "_")
        if any(name.startswith(b) or name.startswith(f"__editable__.{b}") or name.startswith(f"__editable___{b}")
               for b in banned):
            continue
        (site / entry.name).symlink_to(entry)
    for ep_name, source in (plugins or {}).items():
        module = f"tfx_test_plugin_{ep_name}"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        dist = site / f"tfx_test_plugin_{ep_name}-0.3.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tfx-test-plugin-{ep_name}\nVersion: 0.3\n")
        (dist / "entry_points.txt").write_text(f"[tensorflux.plugins]\n{ep_name} = {module}\n")
    return site


def run(site: Path, code: str, env: dict | None = None, cpu: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` with only ``site`` (plus core, and the cpu plugin's source if kept) importable."""
    paths = [str(site), str(REPO / "core")] + ([str(REPO / "plugins" / "cpu")] if cpu else [])
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORFLUX_")}
    full_env.update({"PYTHONPATH": os.pathsep.join(paths)}, **(env or {}))
    return subprocess.run([sys.executable, "-S", "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, timeout=120)
