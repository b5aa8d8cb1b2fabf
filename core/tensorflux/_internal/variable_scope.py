"""Variable scopes and ``get_variable``: TF 1.x's way to name, share and default-initialize variables.

A graph holds one variable store (full name -> Variable, for sharing) and the current VariableScope. A
variable scope names variables (``outer/inner/w``) independently of the name scope that names ops: entering a
scope a second time reuses its variable prefix but opens a fresh name scope (``outer_1/``), as TF 1.x does.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterator

from . import dtypes as _dtypes
from .graph import Graph, GraphKeys, Tensor, get_default_graph
from .init_scope import init_scope, outermost_graph
from .shapes import as_shape
from .variables import Variable


class _AutoReuse:
    """The ``tf.AUTO_REUSE`` sentinel: get_variable returns the variable if it exists and creates it if not."""

    def __repr__(self) -> str:
        return "tf.AUTO_REUSE"


AUTO_REUSE = _AutoReuse()


class VariableScope:
    """What ``tf.variable_scope`` opens: a name prefix for variables plus defaults for ``get_variable``.

    Example:
        >>> import tensorflux as tf
        >>> with tf.variable_scope("layer", initializer=tf.zeros_initializer()) as scope:
        ...     w = tf.get_variable("w", [2])
        >>> scope.name, w.name
        ('layer', 'layer/w:0')
    """

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, regularizer: Any = None,
                 custom_getter: Callable | None = None, name_scope: str = "", dtype: Any = _dtypes.float32) -> None:
        self._reuse = reuse
        self._name = name
        self._initializer = initializer
        self._regularizer = regularizer
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = _dtypes.as_dtype(dtype)

    @property
    def name(self) -> str:
        return self._name

    @property
    def original_name_scope(self) -> str:
        """The name scope opened when this scope was first entered (``'outer/inner/'``)."""
        return self._name_scope

    @property
    def reuse(self) -> Any:
        return self._reuse

    @property
    def initializer(self) -> Any:
        return self._initializer

    @property
    def regularizer(self) -> Any:
        return self._regularizer

    @property
    def custom_getter(self) -> Callable | None:
        return self._custom_getter

    @property
    def dtype(self) -> _dtypes.DType:
        return self._dtype

    @property
    def partitioner(self) -> None:
        return None

    def reuse_variables(self) -> None:
        """Make ``get_variable`` in this scope return existing variables from now on."""
        self._reuse = True

    def set_initializer(self, initializer: Any) -> None:
        self._initializer = initializer

    def set_regularizer(self, regularizer: Any) -> None:
        self._regularizer = regularizer

    def set_dtype(self, dtype: Any) -> None:
        self._dtype = _dtypes.as_dtype(dtype)

    def set_custom_getter(self, custom_getter: Callable | None) -> None:
        self._custom_getter = custom_getter

    def set_partitioner(self, partitioner: Any) -> None:
        _refuse_partitioner(partitioner, self._name)

    def _copy(self, **changes: Any) -> "VariableScope":
        fields = dict(reuse=self._reuse, name=self._name, initializer=self._initializer,
                      regularizer=self._regularizer, custom_getter=self._custom_getter, name_scope=self._name_scope,
                      dtype=self._dtype)
        fields.update(changes)
        return VariableScope(**fields)

    def get_variable(self, name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                     regularizer: Any = None, reuse: Any = None, trainable: bool | None = None,
                     collections: list | None = None, partitioner: Any = None, validate_shape: bool = True,
                     custom_getter: Callable | None = None, **ignored: Any) -> Variable:
        """``tf.get_variable`` in this scope: the scope's defaults fill what the call leaves out."""
        _refuse_partitioner(partitioner, name)
        full_name = f"{self._name}/{name}" if self._name else name
        if dtype is not None and initializer is not None and not callable(initializer):
            init_dtype = _value_dtype(initializer)
            if init_dtype is not _dtypes.as_dtype(dtype):
                raise ValueError(f"Initializer type '{init_dtype.name}' and explicit dtype "
                                 f"'{_dtypes.as_dtype(dtype).name}' don't match (variable '{full_name}').")
        getter = _nest_getters(custom_getter, self._custom_getter)
        kwargs = dict(
            name=full_name, shape=shape, dtype=self._dtype if dtype is None else dtype,
            initializer=self._initializer if initializer is None else initializer,
            regularizer=self._regularizer if regularizer is None else regularizer,
            reuse=self._reuse if reuse is None else reuse, trainable=trainable, collections=collections,
            caching_device=ignored.get("caching_device"), partitioner=None, validate_shape=validate_shape,
            use_resource=ignored.get("use_resource"), constraint=ignored.get("constraint"),
        )
        graph = get_default_graph()
        with graph.name_scope(None):
            if getter is None:
                return _true_getter(**kwargs)
            return getter(getter=_true_getter, **kwargs)


def _refuse_partitioner(partitioner: Any, where: str) -> None:
    if partitioner is not None:
        raise ValueError(f"'{where}': partitioned variables are not supported by Tensorflux (partitioner="
                         f"{partitioner!r}); every variable is one VariableV2 op, so leave partitioner=None")


def _value_dtype(value: Any) -> _dtypes.DType:
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        return (value._as_tensor() if hasattr(value, "_as_tensor") else value).dtype
    from .op_builder import convert_to_tensor

    with Graph().as_default():  # a scratch graph: asking for the dtype must add no op
        return convert_to_tensor(value).dtype


def _nest_getters(inner: Callable | None, outer: Callable | None) -> Callable | None:
    """Compose custom getters so the innermost one runs first and gets the outer one as its ``getter``."""
    if inner is None:
        return outer
    if outer is None:
        return inner

    def nested(getter: Callable, *args: Any, **kwargs: Any) -> Any:
        return inner(functools.partial(outer, getter), *args, **kwargs)

    return nested


# -- the per-graph store ----------------------------------------------------------------------------------------
class _VariableScopeStore:
    """Per graph: the current VariableScope, how often each scope name was opened, and the shared variables."""

    def __init__(self) -> None:
        self.current_scope = VariableScope(False)
        self.variable_scopes_count: dict[str, int] = {}
        self.variables: dict[str, Variable] = {}

    def open_variable_scope(self, scope_name: str) -> None:
        self.variable_scopes_count[scope_name] = self.variable_scopes_count.get(scope_name, 0) + 1

    def close_variable_subscopes(self, scope_name: str) -> None:
        # A default_name counts from zero again in each new entry of its parent scope, as in TF.
        for key in self.variable_scopes_count:
            if key.startswith(scope_name + "/"):
                self.variable_scopes_count[key] = 0


def _store(graph: Graph | None = None) -> _VariableScopeStore:
    # A traced function (a loop body, a cond branch) shares the scopes and variables of the graph around it.
    graph = outermost_graph(graph)
    store = getattr(graph, "_variable_scope_store", None)
    if store is None:
        store = graph._variable_scope_store = _VariableScopeStore()
    return store


def get_variable_scope() -> VariableScope:
    """The current variable scope of the default graph.

    Example:
        >>> import tensorflux as tf
        >>> with tf.variable_scope("a"):
        ...     tf.get_variable_scope().name
        'a'
    """
    return _store().current_scope


# -- creating a variable ----------------------------------------------------------------------------------------
def _default_initializer(name: str, dtype: _dtypes.DType) -> Any:
    from .initializers import glorot_uniform_initializer, zeros_initializer

    if dtype.is_floating:
        return glorot_uniform_initializer()
    if dtype.is_integer or dtype is _dtypes.bool_ or dtype is _dtypes.string:
        return zeros_initializer()
    raise ValueError(f"An initializer for variable {name} of {dtype.name} is required")


def _takes_arguments(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


def _true_getter(name: str, shape: Any = None, dtype: Any = _dtypes.float32, initializer: Any = None,
                 regularizer: Any = None, reuse: Any = None, trainable: bool | None = None,
                 collections: list | None = None, validate_shape: bool = True, **_accepted: Any) -> Variable:
    """Return the shared variable ``name`` or create it: TF 1.x's ``_VariableStore.get_variable``."""
    store = _store()
    initializing_from_value = initializer is not None and not callable(initializer)
    if shape is not None and initializing_from_value:
        raise ValueError(f"If initializer is a constant, do not specify shape. Variable '{name}' was given "
                         f"shape {shape}.")
    dtype = _dtypes.as_dtype(dtype)
    shape = as_shape(shape)
    if name in store.variables:
        return _existing(store.variables[name], name, shape, dtype, reuse)
    if reuse is True:
        raise ValueError(f"Variable {name} does not exist, or was not created with tf.get_variable(). "
                         "Did you mean to set reuse=tf.AUTO_REUSE in VarScope?")
    if initializer is None:
        initializer = _default_initializer(name, dtype)
    if initializing_from_value:
        initial_value, variable_dtype = initializer, None
    else:
        if inspect.isclass(initializer):
            initializer = initializer()
        if shape.is_fully_defined():
            dims = shape.as_list()
            initial_value = functools.partial(_call_initializer, initializer, dims, dtype)
        elif not _takes_arguments(initializer):
            initial_value = initializer
        else:
            raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but instead was {shape}.")
        variable_dtype = dtype
    graph = outermost_graph()
    with init_scope():  # created in the user's graph even when first asked for inside a traced function
        var = Variable(initial_value=initial_value, name=name, trainable=True if trainable is None else trainable,
                       collections=collections, dtype=variable_dtype, validate_shape=validate_shape)
    store.variables[name] = var
    if regularizer:
        with init_scope(), graph.name_scope(name + "/Regularizer/"):
            loss = regularizer(var)
        if loss is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return var


def _call_initializer(initializer: Callable, dims: list, dtype: _dtypes.DType) -> Any:
    try:
        return initializer(dims, dtype=dtype, partition_info=None)
    except TypeError as err:
        if "partition_info" not in str(err):
            raise
        return initializer(dims, dtype=dtype)


def _existing(var: Variable, name: str, shape: Any, dtype: _dtypes.DType, reuse: Any) -> Variable:
    if not reuse:
        raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set reuse=True or "
                         "reuse=tf.AUTO_REUSE in VarScope?")
    if not shape.is_compatible_with(var.get_shape()):
        raise ValueError(f"Trying to share variable {name}, but specified shape {shape} and found shape "
                         f"{var.get_shape()}.")
    if dtype is not var.dtype:
        raise ValueError(f"Trying to share variable {name}, but specified dtype {dtype.name} and found dtype "
                         f"{var.dtype.name}.")
    return var


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                 trainable: bool | None = None, collections: list | None = None, caching_device: Any = None,
                 partitioner: Any = None, validate_shape: bool = True, use_resource: Any = None,
                 custom_getter: Callable | None = None, constraint: Any = None, **ignored: Any) -> Variable:
    """Get the variable ``name`` of the current variable scope, creating it unless the scope reuses.

    Floating variables default to ``glorot_uniform_initializer``, integer and bool ones to zeros; a
    ``regularizer``'s loss goes to ``tf.GraphKeys.REGULARIZATION_LOSSES``.

    Example:
        >>> import tensorflux as tf
        >>> with tf.variable_scope("dense"):
        ...     w = tf.get_variable("w", [3, 2])
        >>> with tf.variable_scope("dense", reuse=True):
        ...     tf.get_variable("w") is w
        True
    """
    return get_variable_scope().get_variable(
        name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer, trainable=trainable,
        collections=collections, caching_device=caching_device, partitioner=partitioner,
        validate_shape=validate_shape, use_resource=use_resource, custom_getter=custom_getter,
        constraint=constraint)


def get_local_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                       regularizer: Any = None, trainable: bool = False, collections: list | None = None,
                       **kwargs: Any) -> Variable:
    """``get_variable`` for a non-trainable variable in ``tf.GraphKeys.LOCAL_VARIABLES`` (counters, metrics).

    Example:
        >>> import tensorflux as tf
        >>> count = tf.get_local_variable("count", [], initializer=tf.zeros_initializer())
        >>> count in tf.local_variables(), count in tf.global_variables()
        (True, False)
    """
    del trainable  # TF 1.x always makes local variables non-trainable
    collections = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                        trainable=False, collections=collections, **kwargs)


# -- entering a scope -------------------------------------------------------------------------------------------
class variable_scope:  # noqa: N801 - TF's public name
    """Open a variable scope: names variables created by ``get_variable`` and sets their defaults.

    ``name_or_scope`` is a name (relative to the current variable scope) or a VariableScope (absolute);
    with neither, ``default_name`` is made unique. ``reuse`` is True, False/None (inherit) or
    ``tf.AUTO_REUSE``; once on it is inherited by inner scopes. Partitioners are refused.

    Example:
        >>> import tensorflux as tf
        >>> with tf.variable_scope("outer"):
        ...     with tf.variable_scope("inner"):
        ...         w = tf.get_variable("w", [1])
        ...         c = tf.constant(1.0, name="c")
        >>> w.name, c.name
        ('outer/inner/w:0', 'outer/inner/c:0')
    """

    def __init__(self, name_or_scope: str | VariableScope | None, default_name: str | None = None,
                 values: Any = None, initializer: Any = None, regularizer: Any = None, caching_device: Any = None,
                 partitioner: Any = None, custom_getter: Callable | None = None, reuse: Any = None,
                 dtype: Any = None, use_resource: Any = None, constraint: Any = None,
                 auxiliary_name_scope: bool = True) -> None:
        del values, caching_device, use_resource, constraint  # graph checks and resource variables do not apply
        if name_or_scope is None and default_name is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if name_or_scope is not None and not isinstance(name_or_scope, (str, VariableScope)):
            raise TypeError(f"VariableScope: name_or_scope must be a string or VariableScope, got "
                            f"{type(name_or_scope).__name__}")
        if custom_getter is not None and not callable(custom_getter):
            raise ValueError(f"The custom_getter must be callable, got {custom_getter!r}")
        if name_or_scope is None and reuse:
            raise ValueError("reuse=True cannot be used without a name_or_scope")
        _refuse_partitioner(partitioner, str(getattr(name_or_scope, "name", name_or_scope or default_name)))
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._initializer = initializer
        self._regularizer = regularizer
        self._custom_getter = custom_getter
        self._reuse = None if reuse is False else reuse  # False means "inherit", as None does
        self._dtype = dtype
        self._auxiliary_name_scope = auxiliary_name_scope
        self._exits: list = []

    def __enter__(self) -> VariableScope:
        graph = get_default_graph()
        store = _store(graph)
        old = store.current_scope
        name_scope_name = self._open_name_scope(graph)
        if isinstance(self._name_or_scope, VariableScope):
            given = self._name_or_scope
            scope = given._copy(reuse=self._reuse if self._reuse else given.reuse)
            store.open_variable_scope(scope.name)
            saved_counts = dict(store.variable_scopes_count)
            self._exits.append(lambda: setattr(store, "variable_scopes_count", saved_counts))
        else:
            relative = self._name_or_scope
            if relative is None:
                relative = _unique_default_name(store, old, self._default_name)
            full = f"{old.name}/{relative}" if old.name else relative
            scope = old._copy(reuse=self._reuse or old.reuse, name=full,
                              name_scope=name_scope_name if name_scope_name is not None else relative)
            store.open_variable_scope(full)
            self._exits.append(lambda: store.close_variable_subscopes(full))
        if self._initializer is not None:
            scope.set_initializer(self._initializer)
        if self._regularizer is not None:
            scope.set_regularizer(self._regularizer)
        if self._dtype is not None:
            scope.set_dtype(self._dtype)
        if self._custom_getter is not None:
            scope.set_custom_getter(_nest_getters(self._custom_getter, old.custom_getter))
        store.current_scope = scope
        self._exits.append(lambda: setattr(store, "current_scope", old))
        return scope

    def _open_name_scope(self, graph: Graph) -> str | None:
        if not self._auxiliary_name_scope:
            return None
        if isinstance(self._name_or_scope, VariableScope):
            # Re-entering a scope object opens a fresh name scope named after its last component, as in TF.
            name = self._name_or_scope.name.split("/")[-1]
        else:
            name = self._name_or_scope if self._name_or_scope is not None else self._default_name
        if not name:
            return None
        ctx = graph.name_scope(name)
        opened = ctx.__enter__()
        self._exits.append(lambda: ctx.__exit__(None, None, None))
        return opened

    def __exit__(self, *exc: Any) -> None:
        while self._exits:
            self._exits.pop()()


def _unique_default_name(store: _VariableScopeStore, current: VariableScope, prefix: str) -> str:
    full = f"{current.name}/{prefix}" if current.name else prefix
    if not store.variable_scopes_count.get(full, 0):
        return prefix
    index = 1
    while store.variable_scopes_count.get(f"{full}_{index}", 0):
        index += 1
    return f"{prefix}_{index}"


def variable_op_scope(values: Any, name_or_scope: Any, default_name: str | None = None, **kwargs: Any) -> Iterator:
    """Deprecated TF 1.x spelling of ``variable_scope(name_or_scope, default_name, values)``."""
    return variable_scope(name_or_scope, default_name=default_name, values=values, **kwargs)


def tables_initializer(name: str = "init_all_tables") -> Any:
    """Run every table initializer: a group of ``tf.GraphKeys.TABLE_INITIALIZERS`` (a NoOp when there are none).

    Example:
        >>> import tensorflux as tf
        >>> tf.tables_initializer().type
        'NoOp'
    """
    from .ops.state_ops import group, no_op

    initializers = get_default_graph().get_collection(GraphKeys.TABLE_INITIALIZERS)
    return group(*initializers, name=name) if initializers else no_op(name=name)
