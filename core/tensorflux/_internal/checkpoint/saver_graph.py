"""A Saver's ops in the graph, named and wired as TensorFlow 1.x's Saver builds them, and the SaverDef naming them.

For variables ``w`` and ``layer/b`` under the scope ``save``::

    save/filename/input   Const "model"            save/filename  PlaceholderWithDefault
    save/Const            PlaceholderWithDefault   (the SaverDef's filename tensor: feed the prefix here)
    save/SaveV2           SaveV2(save/Const, save/SaveV2/tensor_names, save/SaveV2/shape_and_slices, layer/b, w)
    save/control_dependency  Identity(save/Const) after save/SaveV2   (the SaverDef's save tensor)
    save/RestoreV2        RestoreV2(save/Const, save/RestoreV2/tensor_names, save/RestoreV2/shape_and_slices)
    save/Assign, save/Assign_1   Assign(layer/b, save/RestoreV2:0), Assign(w, save/RestoreV2:1)
    save/restore_all      NoOp after every Assign  (the SaverDef's restore op)

so TensorFlow's ``import_meta_graph`` accepts a meta graph written here, and its ``Saver.restore`` runs
``save/restore_all`` with the prefix fed to ``save/Const:0``.
"""

from __future__ import annotations

from typing import Any

from ...proto import saver_pb2
from ..graph import Graph, Operation, get_default_graph
from ..op_builder import apply_op
from ..ops.base_array_ops import constant, identity, placeholder_with_default
from ..ops.state_ops import group
from ..resource_variables import is_resource_variable


def build_saver_def(graph: Graph, var_list: dict, max_to_keep: int, keep_every_n_hours: float,
                    filename: str | None = None, name: str | None = None) -> saver_pb2.SaverDef:
    """Add the save/restore ops for ``var_list`` (``{checkpoint name: Variable}``) to ``graph``; return the SaverDef.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     v = tf.Variable(1.0, name="v")
        >>> sd = build_saver_def(g, {"v": v}, 5, 10000.0)
        >>> sd.filename_tensor_name, sd.save_tensor_name, sd.restore_op_name
        ('save/Const:0', 'save/control_dependency:0', 'save/restore_all')
    """
    names = sorted(var_list)
    variables = [var_list[n] for n in names]
    with graph.as_default(), graph.name_scope(name or "save"):
        default = constant(filename or "model", name="filename/input")
        prefix = placeholder_with_default(placeholder_with_default(default, shape=[], name="filename"), shape=[],
                                          name="Const")
        with graph.name_scope("SaveV2") as scope:
            save = _op_named("SaveV2", scope, prefix, *_names_and_slices(names), [_saved(v) for v in variables],
                             dtypes=[v.dtype for v in variables])
        with graph.control_dependencies([save]):
            saved = identity(prefix, name="control_dependency")
        with graph.name_scope("RestoreV2") as scope:
            restored = apply_op("RestoreV2", prefix, *_names_and_slices(names), dtypes=[v.dtype for v in variables],
                                name=scope)
        assigns = [_restore(v, value) for v, value in zip(variables, restored)]
        restore_all = group(*assigns, name="restore_all")
    return saver_pb2.SaverDef(filename_tensor_name=prefix.name, save_tensor_name=saved.name,
                              restore_op_name=restore_all.name, max_to_keep=max_to_keep,
                              keep_checkpoint_every_n_hours=keep_every_n_hours, sharded=False,
                              version=saver_pb2.SaverDef.V2)


def _saved(var: Any) -> Any:
    # A resource variable (imported from TF) is saved through a read of its handle, as TF saves it.
    return var.read_value() if is_resource_variable(var) else var._ref


def _restore(var: Any, value: Any) -> Any:
    if is_resource_variable(var):
        return var.assign(value, name="AssignVariableOp", read_value=False)
    return apply_op("Assign", var._ref, value, validate_shape=var.shape.is_fully_defined(), use_locking=True,
                    name="Assign")[0]


def _names_and_slices(names: list[str]) -> tuple[Any, Any]:
    return (constant([n.encode("utf-8") for n in names], dtype="string", shape=[len(names)], name="tensor_names"),
            constant([b""] * len(names), dtype="string", shape=[len(names)], name="shape_and_slices"))


def _op_named(op_type: str, scope: str, *inputs: Any, **attrs: Any) -> Operation:
    """Add an op with no outputs, named by its own (already opened) name scope ``scope``, as TF names it."""
    graph = get_default_graph()
    before = len(graph._op_list)
    apply_op(op_type, *inputs, name=scope, **attrs)
    return graph._op_list[before]


def names_resolve(graph: Graph, saver_def: Any) -> bool:
    """Whether the three graph names of ``saver_def`` exist in ``graph`` (so its ops can be run there).

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.proto import saver_pb2
        >>> names_resolve(tf.Graph(), saver_pb2.SaverDef())
        False
    """
    names = (saver_def.filename_tensor_name, saver_def.save_tensor_name, saver_def.restore_op_name)
    if not all(names):
        return False
    try:
        for n in names:
            graph.as_graph_element(n)
    except (KeyError, ValueError, TypeError):
        return False
    return True
