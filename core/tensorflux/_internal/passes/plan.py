"""What the graph passes work on: a plan's nodes (one kernel call each), ref inputs, and the shared context."""

from __future__ import annotations

from typing import Any, Callable


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
