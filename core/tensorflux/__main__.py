"""The ``tensorflux`` command line: ``python -m tensorflux plugins|devices|ops|info [--json]``, and plugins' commands."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata
from typing import Any, Sequence


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def plugins_report() -> list[dict]:
    """Every plugin: name, version, contract, status, error and what it provides."""
    from ._internal.plugins import plugin_infos

    return [{"name": i.name, "version": i.version, "contract": i.contract, "status": i.status, "error": i.error,
             "devices": list(i.devices), "kernels": len(i.kernels), "ops": list(i.ops),
             "optimizers": list(i.optimizers), "checkpoint_formats": list(i.checkpoint_formats)}
            for i in plugin_infos()]


def devices_report(check: bool = True) -> dict:
    """Every device with its properties and health, and the plugins that found none (with why).

    ``check`` runs each device's health check (a device whose driver can crash builds and runs a small kernel
    set in a child process); 'unhealthy: <why>' then marks a device that fails it.
    """
    from ._internal.plugins import plugin_infos
    from ._internal.registry import DEVICES

    infos = plugin_infos()
    devices = []
    for d in DEVICES.all():
        row = {**{k: str(v) for k, v in d.describe().items()}, "device": d.name, "plugin": DEVICES.owner(d.name)}
        if check:
            try:
                why = d.health_check()
            except Exception as exc:  # noqa: BLE001 - a failing check is itself the finding
                why = f"the health check raised {type(exc).__name__}: {exc}"
            row["health"] = f"unhealthy: {why}" if why else "ok"
        devices.append(row)
    return {"devices": devices, "no_devices": {i.name: i.no_devices_reason for i in infos if i.no_devices_reason}}


def ops_report(device: str | None) -> list[dict]:
    """Kernel coverage: for each op, the dtypes each device type's kernels claim ('any' when unrestricted)."""
    from ._internal.plugins import ensure_discovered
    from ._internal.registry import OPS, device_types_for, kernels_for_device

    ensure_discovered()
    rows = []
    for name in OPS.names():
        coverage = {}
        for dev in device_types_for(name):
            kdefs = [k for k in kernels_for_device(dev) if k.op == name]
            coverage[dev] = "any" if any(k.dtypes is None for k in kdefs) else ",".join(
                sorted({d.name for k in kdefs for d in k.dtypes}))
        if device and device not in coverage:
            continue
        rows.append({"op": name, "kernels": coverage})
    return rows


def info_report() -> dict:
    """Versions and environment, for bug reports."""
    from ._internal.plugins import plugin_versions

    versions = {}
    for dist in ("tensorflux", "numpy", "pluggy", "protobuf", "ml_dtypes"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {"python": sys.version.split()[0], "platform": platform.platform(), "versions": versions,
            "environment": {k: v for k, v in os.environ.items() if k.startswith("TENSORFLUX_")},
            "plugins": {p["name"]: f"{p['version']} ({p['status']})" for p in plugins_report()},
            "plugin_dependencies": plugin_versions()}


def _print_plugins(report: list[dict]) -> None:
    rows = []
    for p in report:
        provides = [f"{len(p['ops'])} ops"] if p["ops"] else []
        provides += ["optimizers: " + ",".join(p["optimizers"])] if p["optimizers"] else []
        provides += ["formats: " + ",".join(p["checkpoint_formats"])] if p["checkpoint_formats"] else []
        rows.append([p["name"], p["version"] or "-", p["contract"] or "-", p["status"], ",".join(p["devices"]) or "-",
                     str(p["kernels"]), "; ".join(provides) or "-"])
    print(_table(rows, ["name", "version", "contract", "status", "devices", "kernels", "provides"]))
    for p in report:
        if p["error"]:
            print(f"  {p['name']}: {p['error']}")


def _print_devices(report: dict) -> None:
    skip = ("device", "plugin", "health")
    rows = [[d["device"], d["plugin"], d.get("health", "not checked").split(":")[0],
             ", ".join(f"{k}: {v}" for k, v in d.items() if k not in skip) or "-"] for d in report["devices"]]
    print(_table(rows, ["device", "plugin", "health", "details"]) if rows
          else "no devices: install a device plugin such as tensorflux-cpu")
    for d in report["devices"]:
        if d.get("health", "ok") not in ("ok", "not checked"):
            print(f"{d['device']} is {d['health']}")
    for name, why in report["no_devices"].items():
        print(f"plugin '{name}' has no devices: {why}")


def _print_ops(report: list[dict]) -> None:
    devices = sorted({d for r in report for d in r["kernels"]})
    rows = [[r["op"]] + [r["kernels"].get(d, "-") for d in devices] for r in report]
    print(_table(rows, ["op"] + devices))


def plugin_commands() -> dict:
    """Subcommands from the plugins' ``tensorflux_cli_commands`` hooks; a failing hook is reported, not raised."""
    import warnings

    from ._internal.plugins import MANAGER, PluginWarning

    MANAGER.ensure_discovered()
    found: dict = {}
    for impl in MANAGER.pm.hook.tensorflux_cli_commands.get_hookimpls():
        try:
            found.update(dict(impl.function()))
        except Exception as exc:  # noqa: BLE001 - one plugin's broken command must not take the others down
            warnings.warn(f"plugin '{impl.plugin_name}': tensorflux_cli_commands raised {type(exc).__name__}: {exc}",
                          PluginWarning, stacklevel=2)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tensorflux`` console script.

    Example:
        >>> from tensorflux.__main__ import main
        >>> main(["info", "--json"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="tensorflux", description="Inspect the tensorflux installation.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("plugins", "plugins with version, contract, status and what they provide"),
                       ("devices", "every device with its properties"),
                       ("ops", "kernel coverage matrix of ops x device types, with dtypes"),
                       ("info", "versions and environment, for bug reports")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "ops":
            cmd.add_argument("--device", help="only ops with a kernel on this device type (e.g. cpu, opencl)")
        if name == "devices":
            cmd.add_argument("--no-check", action="store_true",
                             help="skip the health checks (each builds and runs a few kernels in a child process)")
    extra = {name: c for name, c in plugin_commands().items() if name not in sub.choices}
    for name, command in sorted(extra.items()):
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
    args = parser.parse_args(argv)
    if args.command in extra:
        return int(extra[args.command].run(args) or 0)
    report: Any = {"plugins": plugins_report, "devices": lambda: devices_report(not args.no_check),
                   "info": info_report}.get(
        args.command, lambda: ops_report(args.device))()
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.command == "plugins":
        _print_plugins(report)
    elif args.command == "devices":
        _print_devices(report)
    elif args.command == "ops":
        _print_ops(report)
    else:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
