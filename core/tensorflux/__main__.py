"""The ``tensorflux`` command line: ``python -m tensorflux plugins|devices|ops``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def cmd_plugins(args: argparse.Namespace) -> int:
    """List every plugin: name, version, contract, status, devices and what it provides."""
    from ._internal.plugins import plugin_infos

    rows = []
    errors = []
    for info in plugin_infos():
        provides = []
        if info.ops:
            provides.append(f"{len(info.ops)} ops")
        if info.optimizers:
            provides.append("optimizers: " + ",".join(info.optimizers))
        if info.checkpoint_formats:
            provides.append("formats: " + ",".join(info.checkpoint_formats))
        rows.append([info.name, info.version or "-", info.contract or "-", info.status,
                     ",".join(info.devices) or "-", str(len(info.kernels)), "; ".join(provides) or "-"])
        if info.error:
            errors.append(f"{info.name}: {info.error}")
    print(_table(rows, ["name", "version", "contract", "status", "devices", "kernels", "provides"]))
    for line in errors:
        print("  " + line)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    """List every device with the facts its plugin reports, and plugins that found none."""
    from ._internal.devices import DEVICES
    from ._internal.plugins import plugin_infos

    infos = plugin_infos()
    rows = []
    for dev in DEVICES.all():
        facts = ", ".join(f"{k}: {v}" for k, v in dev.describe().items())
        rows.append([dev.name, DEVICES.owner(dev.name), facts or "-"])
    print(_table(rows, ["device", "plugin", "details"]) if rows else "no devices: install a device plugin such as tensorflux-cpu")
    for info in infos:
        if info.no_devices_reason:
            print(f"plugin '{info.name}' has no devices: {info.no_devices_reason}")
    return 0


def cmd_ops(args: argparse.Namespace) -> int:
    """List registered ops and which device types have kernels for them."""
    from ._internal.plugins import ensure_discovered
    from ._internal.registry import KERNELS, OPS

    ensure_discovered()
    rows = []
    for name in OPS.names():
        devices = KERNELS.device_types_for(name)
        if args.device and args.device not in devices:
            if not args.all:
                continue
        rows.append([name, ",".join(devices) or "(none)"])
    print(_table(rows, ["op", "kernels on"]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tensorflux`` console script.

    Example:
        >>> from tensorflux.__main__ import main
        >>> main(["plugins"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="tensorflux", description="Inspect the tensorflux installation.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plugins", help="list plugins with version, contract, status and what they provide")
    sub.add_parser("devices", help="list devices")
    ops = sub.add_parser("ops", help="list ops and the device types with kernels for them")
    ops.add_argument("--device", help="only ops with a kernel on this device type (e.g. cpu, opencl)")
    ops.add_argument("--all", action="store_true", help="with --device, list every op anyway")
    args = parser.parse_args(argv)
    handler = {"plugins": cmd_plugins, "devices": cmd_devices, "ops": cmd_ops}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
