"""What one session's plans share, handed to the executor explicitly: config, placement, variables and RNGs.

The executor and the Saver read a session only through this object, never through the session's private fields.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .devices import Device
from .errors import FailedPreconditionError, InvalidArgumentError


class VariableSlot:
    """One variable's storage in one session, on one device. Kernels of ref inputs receive it.

    Example (a device plugin's assign kernel)::

        def assign(ref, value, *, validate_shape):
            ref.assign(value, validate_shape)
            return ref.value
    """

    __slots__ = ("name", "dtype", "shape", "device", "value", "lock")

    def __init__(self, name: str, dtype: Any, shape: Any, device: Device) -> None:
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.device = device
        self.value: Any = None
        self.lock = threading.Lock()

    def read(self) -> Any:
        value = self.value
        if value is None:
            raise FailedPreconditionError(
                f"Attempting to use uninitialized value {self.name}: variable '{self.name}' has not been "
                "initialized; run its initializer first, e.g. sess.run(tf.global_variables_initializer())"
            )
        return value

    def assign(self, value: Any, validate_shape: bool = True) -> Any:
        if validate_shape and self.shape.rank is not None and not self.shape.is_compatible_with(list(np.shape(value))):
            raise InvalidArgumentError(
                f"Assign to variable '{self.name}': value of shape {list(np.shape(value))} does not match the "
                f"variable's shape {self.shape}")
        if isinstance(value, np.ndarray):
            value = value.copy() if value.flags.writeable or value.base is not None else value
            value.setflags(write=False)
        self.value = value
        return value


@dataclass
class SessionState:
    """One session's state as its plans see it.

    ``placement`` caches each op's (device, kernel); ``variables`` maps a variable op's name to its
    :class:`VariableSlot`; ``rng_state`` holds each random op's generator; ``host`` is the device of fed and
    fetched host values. ``lock`` guards compiling plans and reading or writing variables outside a run.

    Example:
        >>> state = SessionState(config=None)
        >>> state.variables, state.host.name
        ({}, '/host:0')
    """

    config: Any
    placement: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    rng_state: dict = field(default_factory=dict)
    host: Device = field(default_factory=Device)
    lock: Any = field(default_factory=threading.RLock)
    # Stateful host objects kernels keep per session (a dataset iterator's position), by name; each may have a
    # ``close()`` that the session calls when it closes (a prefetch thread stops there).
    resources: dict = field(default_factory=dict)

    def close_resources(self) -> None:
        """Close and forget every resource kept for this session (``Session.close`` calls it)."""
        resources, self.resources = self.resources, {}
        for resource in resources.values():
            close = getattr(resource, "close", None)
            if close is not None:
                close()

    def variable_slot(self, op: Any, device: Device | None) -> VariableSlot:
        """The slot of variable op ``op`` (a VariableV2), made on ``device`` at first use."""
        slot = self.variables.get(op.name)
        if slot is None:
            slot = VariableSlot(op.name, op.attrs["dtype"], op.attrs["shape"], device)
            self.variables[op.name] = slot
        return slot

    def read_variable(self, name: str) -> np.ndarray:
        """A host copy of variable ``name``'s value; FailedPreconditionError when it is not initialized."""
        with self.lock:
            slot = self.variables.get(name)
            if slot is None or slot.value is None:
                raise FailedPreconditionError(
                    f"Attempting to use uninitialized value {name}: variable '{name}' has not "
                    "been initialized in this session; run its initializer or restore a checkpoint first")
            value, device = slot.value, slot.device
        if device is not None and not device.host_memory:
            value = device.to_host(value)
        return np.array(value, copy=True)
