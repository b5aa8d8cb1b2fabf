"""Graph passes that run once per plan, on the plan's node list, before slots are assigned.

The executor turns the ops a ``Session.run`` signature needs into a list of :class:`Node` (one per
kernel call, in execution order) and hands it to each enabled pass in turn:

| pass | module | what it does |
|---|---|---|
| ``cse`` | ``cse.py`` | merges pure nodes that compute the same thing from the same inputs |
| ``constant_folding`` | ``constant_folding.py`` | runs pure nodes whose inputs are all constants, once |
| ``fusion`` | ``fusion.py`` | conv2d + bias (+ relu) (+ 2x2 max pool) as one fused kernel; elementwise chains as one step |

A pass returns the new node list and records, in ``ctx.aliases``, any value it replaced by another.
Passes can be switched off with ``TENSORFLUX_DISABLE_PASSES`` (see ``docs/environment.md``) or with
``Session(config={"disable_passes": [...]})``.
"""

from __future__ import annotations

from typing import Any, Callable

PASS_NAMES = ("cse", "constant_folding", "fusion")


class Ref:
    """A ref input: the kernel receives the variable's ``VariableSlot`` itself."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable


class Node:
    """One kernel call of a plan.

    ``kind`` is "kernel" (an op's kernel), "const" (a value known at compile time, in ``value``),
    "read" (a variable read at this point of the plan) or "copy" (between devices). ``inputs`` are
    value keys (a ``Tensor``, or a key a pass made up) or :class:`Ref`; ``outputs`` are value keys,
    or None for outputs nobody reads. ``op`` is the graph op the node came from; errors name it.
    """

    __slots__ = ("op", "kind", "device", "kdef", "fn", "inputs", "outputs", "multi", "value", "pure")

    def __init__(self, op: Any, kind: str, device: Any, kdef: Any, fn: Callable | None, inputs: list,
                 outputs: list, multi: bool = False, value: Any = None, pure: bool = False) -> None:
        self.op, self.kind, self.device, self.kdef, self.fn = op, kind, device, kdef, fn
        self.inputs, self.outputs, self.multi, self.value, self.pure = inputs, outputs, multi, value, pure

    def __repr__(self) -> str:
        return f"Node({self.kind} {self.op.type if self.op is not None else '-'} '{getattr(self.op, 'name', '')}')"


class PassContext:
    """What passes share: the session, the values that must survive (fetches) and the alias map."""

    def __init__(self, session: Any, keep: set) -> None:
        self.session = session
        self.keep = keep
        self.aliases: dict = {}

    def resolve(self, key: Any) -> Any:
        """The key that now holds ``key``'s value, following replacements."""
        while key in self.aliases:
            key = self.aliases[key]
        return key

    def replace(self, old: Any, new: Any) -> None:
        """Record that ``new`` now holds ``old``'s value; a value that must survive passes that on to ``new``."""
        if old is not new:
            self.aliases[old] = new
            if old in self.keep:
                self.keep.add(self.resolve(new))


def consumers(nodes: list) -> dict:
    """For each value key, the number of node inputs that read it."""
    counts: dict = {}
    for node in nodes:
        for key in node.inputs:
            if not isinstance(key, Ref):
                counts[key] = counts.get(key, 0) + 1
    return counts


def run_passes(nodes: list, ctx: PassContext, disabled: frozenset) -> list:
    """Run every enabled pass, in the order of ``PASS_NAMES``.

    Example:
        >>> run_passes([], PassContext(None, set()), frozenset(PASS_NAMES))
        []
    """
    from . import constant_folding, cse, fusion

    table = {"cse": cse.run, "constant_folding": constant_folding.run, "fusion": fusion.run}
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
