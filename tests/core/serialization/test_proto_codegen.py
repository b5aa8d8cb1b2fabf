"""The committed *_pb2.py modules are exactly what protoc (grpcio-tools) generates from the .proto files."""

from __future__ import annotations

import pytest


def test_generated_modules_match_the_proto_files():
    pytest.importorskip("grpc_tools", reason="grpcio-tools is not installed; `make install` installs it")
    from tensorflux.proto import _codegen

    stale = _codegen.stale_modules()
    assert not stale, f"regenerate with `make protos`: {stale} differ from what the .proto files generate"


def test_generated_modules_load_with_the_installed_protobuf_runtime():
    import importlib

    from google.protobuf import __version__ as runtime

    from tensorflux.proto import _codegen

    for proto in _codegen.proto_files():
        module = importlib.import_module(f"tensorflux.proto.{proto.stem}_pb2")
        assert module.DESCRIPTOR.name == f"tensorflux/proto/{proto.name}", runtime
