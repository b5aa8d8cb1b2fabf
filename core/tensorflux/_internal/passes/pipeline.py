"""The pass pipeline: which passes run, in which order, and which the user switched off."""

from __future__ import annotations

from typing import Any

from . import clusters, constant_folding, cse, fusion
from .plan import PassContext, Ref

PASS_NAMES = ("cse", "constant_folding", "fusion", "compile")


def run_passes(nodes: list, ctx: PassContext, disabled: frozenset) -> list:
    """Run every enabled pass, in the order of ``PASS_NAMES``.

    Example:
        >>> run_passes([], PassContext(None, set()), frozenset(PASS_NAMES))
        []
    """
    table = {"cse": cse.run, "constant_folding": constant_folding.run, "fusion": fusion.run, "compile": clusters.run}
    for name in PASS_NAMES:
        if name not in disabled:
            nodes = table[name](nodes, ctx)
            for node in nodes:
                node.inputs = [k if isinstance(k, Ref) else ctx.resolve(k) for k in node.inputs]
    return nodes


def disabled_passes(session_config: Any = None) -> frozenset:
    """The passes switched off by ``TENSORFLUX_DISABLE_PASSES`` and by a session config's ``disable_passes``.

    Example:
        >>> disabled_passes({"disable_passes": ["cse"]}) >= {"cse"}
        True
    """
    from .. import config

    names = set(config.disabled_passes())
    extra = None
    if isinstance(session_config, dict):
        extra = session_config.get("disable_passes")
    elif session_config is not None:
        extra = getattr(session_config, "disable_passes", None)
    if extra:
        names |= set(PASS_NAMES) if extra in ("all", True) else {str(n).strip() for n in extra}
    if "all" in names:
        names |= set(PASS_NAMES)
    unknown = names - set(PASS_NAMES) - {"all"}
    if unknown:
        raise ValueError(f"Unknown graph pass(es) {sorted(unknown)} in disable_passes; known passes: "
                         f"{', '.join(PASS_NAMES)} (or 'all')")
    return frozenset(names)
