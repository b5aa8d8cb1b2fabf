"""Hook implementations only: the /mobile:0 device, its kernels and the ``convert`` command. Cheap to import."""

from __future__ import annotations

from tensorflux.extend import hookimpl

TENSORFLUX_CONTRACT = "1.0"


@hookimpl
def tensorflux_register_devices(registrar) -> None:
    from .device import MobileDevice

    registrar.device(MobileDevice(0))


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    from .device import register

    register(registrar)


@hookimpl
def tensorflux_versions() -> dict:
    from importlib import metadata

    return {name: metadata.version(name) for name in ("flatbuffers", "tflite")}


@hookimpl
def tensorflux_cli_commands() -> dict:
    from .cli import COMMANDS

    return COMMANDS
