"""Generate the ``*_pb2.py`` modules of this package from its ``.proto`` files with grpcio-tools.

The generated modules are committed; ``make protos`` runs this after a ``.proto`` file changes,
and a test regenerates them into a temporary folder and checks they match the committed ones.

Example:
    $ python -m tensorflux.proto._codegen          # rewrite core/tensorflux/proto/*_pb2.py
    $ python -m tensorflux.proto._codegen --check  # exit 1 if any committed module is stale
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PROTO_DIR.parents[1]  # the folder holding the ``tensorflux`` package


def proto_files() -> list[Path]:
    """Every ``.proto`` file of the package, sorted."""
    return sorted(PROTO_DIR.glob("*.proto"))


def generate(out_root: Path) -> list[Path]:
    """Run protoc (from grpcio-tools) on every ``.proto`` file; write under ``out_root``; return the modules."""
    import importlib.util
    import subprocess

    spec = importlib.util.find_spec("grpc_tools")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("generating the protobuf modules needs grpcio-tools: pip install grpcio-tools")
    include = str(Path(list(spec.submodule_search_locations)[0]) / "_proto")
    rel = [str(p.relative_to(SOURCE_ROOT)) for p in proto_files()]
    # In a child process: protoc's own protobuf library crashes beside another one loaded in this process
    # (TensorFlow's, in a test run that imported it).
    proc = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{SOURCE_ROOT}", f"-I{include}",
                           f"--python_out={out_root}", *rel], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"protoc failed (exit {proc.returncode}) on {', '.join(rel)}: {proc.stderr.strip()}")
    return sorted((out_root / "tensorflux" / "proto").glob("*_pb2.py"))


def stale_modules() -> list[str]:
    """Names of committed ``*_pb2.py`` modules that differ from freshly generated ones (or are missing/extra)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p.read_bytes() for p in generate(Path(tmp))}
    committed = {p.name: p.read_bytes() for p in PROTO_DIR.glob("*_pb2.py")}
    return sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale modules; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_modules()
        for name in stale:
            print(f"stale: tensorflux/proto/{name} does not match its .proto file; run `make protos`")
        return 1 if stale else 0
    for path in generate(SOURCE_ROOT):
        print(f"wrote {path.relative_to(SOURCE_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
