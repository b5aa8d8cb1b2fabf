"""MetaGraphDef: a GraphDef plus collections and saver configuration; export and import.

Collections are encoded as TensorFlow encodes them: the variable collections as serialized
VariableDefs (``bytes_list``), tensors and operations by name (``node_list``), and plain
numbers and strings as ``int64_list`` / ``float_list`` / ``bytes_list``. On import, variables
are rebuilt as Variable objects bound to the imported ops.
"""

from __future__ import annotations

import warnings
from typing import Any

from ...proto import meta_graph_pb2, saver_pb2, variable_pb2
from ..errors import InvalidArgumentError
from ..graph import Graph, GraphKeys, Operation, Tensor, get_default_graph
from ..registry import OPS
from ..resource_variables import ResourceVariable, is_resource_variable
from ..untrusted import parsing
from ..variables import Variable
from .files import parse_proto, read_proto, write_proto
from .graph_def import all_or_nothing, as_graph_def_message, graph_to_graph_def, import_graph_def_scoped

# Collections whose items TF serializes as VariableDef protos.
VARIABLE_COLLECTIONS = frozenset({
    GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES, GraphKeys.LOCAL_VARIABLES,
    GraphKeys.MODEL_VARIABLES, GraphKeys.GLOBAL_STEP, "moving_average_variables", "metric_variables",
})


class CollectionWarning(UserWarning):
    """A collection could not be exported or imported; the message names it."""


def variable_to_proto(var: Variable) -> variable_pb2.VariableDef:
    """The VariableDef naming ``var``'s ops.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.serialization.meta_graph import variable_to_proto
        >>> variable_to_proto(tf.Variable(1.0, name="w")).snapshot_name
        'w/read:0'
    """
    vdef = variable_pb2.VariableDef(
        variable_name=var._ref.name, initializer_name=var.initializer.name, snapshot_name=var.value().name,
        trainable=var.trainable, is_resource=is_resource_variable(var),
    )
    if var.initial_value is not None:
        vdef.initial_value_name = var.initial_value.name
    return vdef


def export_meta_graph(filename: str | None = None, meta_info_def: Any = None, graph_def: Any = None,
                      saver_def: Any = None, collection_list: list | None = None, as_text: bool = False,
                      graph: Graph | None = None, export_scope: str | None = None, clear_devices: bool = False,
                      clear_extraneous_savers: bool = False, strip_default_attrs: bool = False,
                      save_debug_info: bool = False, **kwargs: Any) -> meta_graph_pb2.MetaGraphDef:
    """Build a MetaGraphDef of ``graph`` (default graph) and, if ``filename`` is given, write it there.

    Collections named in ``collection_list`` (default: all) are included; items that cannot be
    serialized are skipped with a warning naming the collection.

    Example:
        >>> import os, tempfile, tensorflux as tf
        >>> tf.add_to_collection("logits", tf.constant([1.0], name="logits"))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.meta")
        >>> mg = tf.train.export_meta_graph(path)
        >>> list(mg.collection_def["logits"].node_list.value)
        ['logits:0']
    """
    del clear_extraneous_savers, strip_default_attrs, save_debug_info, kwargs  # no extraneous savers; defaults kept
    if export_scope:
        raise ValueError(f"export_meta_graph: export_scope={export_scope!r} is not supported; export the whole graph")
    graph = graph or get_default_graph()
    mg = meta_graph_pb2.MetaGraphDef()
    if meta_info_def is not None:
        mg.meta_info_def.ParseFromString(meta_info_def.SerializeToString())
    from ... import __version__

    mg.meta_info_def.meta_graph_version = mg.meta_info_def.meta_graph_version or f"tensorflux-{__version__}"
    gdef = as_graph_def_message(graph_def) if graph_def is not None else graph_to_graph_def(graph, clear_devices=clear_devices)
    mg.graph_def.CopyFrom(gdef)
    if saver_def is not None:
        mg.saver_def.ParseFromString(saver_def.SerializeToString())
    keys = graph.get_all_collection_keys() if collection_list is None else list(collection_list)
    for key in sorted(keys):
        cdef = collection_to_proto(key, graph.get_collection(key))
        if cdef is not None:
            mg.collection_def[key].CopyFrom(cdef)
    if filename:
        write_proto(filename, mg, as_text)
    return mg


def collection_to_proto(key: str, items: list) -> meta_graph_pb2.CollectionDef | None:
    """Encode collection ``key``; None (with a warning) when its items cannot be serialized together."""
    if not items:
        return None
    cdef = meta_graph_pb2.CollectionDef()
    if key in VARIABLE_COLLECTIONS and all(isinstance(i, Variable) for i in items):
        cdef.bytes_list.value.extend(variable_to_proto(v).SerializeToString() for v in items)
    elif all(isinstance(i, (Tensor, Operation, Variable)) for i in items):
        cdef.node_list.value.extend(i._ref.name if isinstance(i, Variable) else i.name for i in items)
    elif all(isinstance(i, int) for i in items):
        cdef.int64_list.value.extend(int(i) for i in items)
    elif all(isinstance(i, (int, float)) for i in items):
        cdef.float_list.value.extend(float(i) for i in items)
    elif all(isinstance(i, (str, bytes)) for i in items):
        cdef.bytes_list.value.extend(i.encode("utf-8") if isinstance(i, str) else i for i in items)
    else:
        kinds = sorted({type(i).__name__ for i in items})
        warnings.warn(
            f"export_meta_graph: collection '{key}' was not exported: it holds {', '.join(kinds)} items; a collection "
            "must hold only tensors/operations/variables, only numbers, or only strings", CollectionWarning,
            stacklevel=3)
        return None
    return cdef


def read_meta_graph_file(path: str) -> meta_graph_pb2.MetaGraphDef:
    """Read a binary or text-format MetaGraphDef file; errors name the file."""
    return read_proto(path, meta_graph_pb2.MetaGraphDef)


def as_meta_graph_message(meta_graph_or_file: Any) -> meta_graph_pb2.MetaGraphDef:
    """A path, serialized bytes, our MetaGraphDef or TensorFlow's, as our MetaGraphDef message."""
    if isinstance(meta_graph_or_file, meta_graph_pb2.MetaGraphDef):
        return meta_graph_or_file
    if isinstance(meta_graph_or_file, str):
        return read_meta_graph_file(meta_graph_or_file)
    if hasattr(meta_graph_or_file, "__fspath__"):
        return read_meta_graph_file(str(meta_graph_or_file))
    if isinstance(meta_graph_or_file, bytes):
        return parse_proto(meta_graph_or_file, meta_graph_pb2.MetaGraphDef, "the given bytes")
    if hasattr(meta_graph_or_file, "SerializeToString"):
        out = meta_graph_pb2.MetaGraphDef()
        with parsing("the given MetaGraphDef"):
            out.ParseFromString(meta_graph_or_file.SerializeToString())
        return out
    raise TypeError(f"expected a MetaGraphDef or the path of a .meta file, got {type(meta_graph_or_file).__name__}")


def import_scoped_meta_graph(meta_graph_or_file: Any, clear_devices: bool = False, graph: Graph | None = None,
                             import_scope: str | None = None, input_map: dict | None = None,
                             return_elements: list | None = None) -> tuple[dict, list | None]:
    """Import a MetaGraphDef's graph and collections into ``graph`` (default graph).

    Returns ``(var_list, elements)``: the imported global variables keyed by their names in the
    MetaGraphDef (what a checkpoint calls them), and the requested ``return_elements``.
    """
    mg = as_meta_graph_message(meta_graph_or_file)
    graph = graph or get_default_graph()
    # All or nothing, collections included: a bad collection must not leave the graph half imported.
    with graph.as_default(), all_or_nothing(graph), parsing("import_meta_graph", corrupt=InvalidArgumentError):
        graph_def = _without_tensorflow_saver(mg)
        importer = import_graph_def_scoped(graph_def, input_map, import_scope or "", clear_devices=clear_devices)
        variables = _ImportedVariables(importer)
        # Variable collections first, so that user collections naming a variable's ref get the Variable.
        for key in sorted(mg.collection_def, key=lambda k: (k not in VARIABLE_COLLECTIONS, k)):
            for item in _collection_items(key, mg.collection_def[key], importer, variables):
                graph.add_to_collection(key, item)
        elements = None if return_elements is None else [importer.lookup(n) for n in return_elements]
    var_list = {name: var for name, var in variables.by_name.items()
                if var in graph.get_collection(GraphKeys.GLOBAL_VARIABLES)}
    return var_list, elements


def _without_tensorflow_saver(mg: meta_graph_pb2.MetaGraphDef) -> Any:
    """The GraphDef, less the save/restore subgraph of its SaverDef where that holds ops Tensorflux lacks.

    A plain Saver's subgraph (SaveV2, RestoreV2, Assign...) is kept: the Saver ``import_meta_graph`` returns
    names it, and running ``restore_all`` here restores as in TF. A sharded Saver's (``MergeV2Checkpoints``,
    ``ShardedFilename``...) is left out, and the returned Saver builds a plain one in its place.
    """
    names = [mg.saver_def.save_tensor_name, mg.saver_def.restore_op_name, mg.saver_def.filename_tensor_name]
    scopes = tuple({n.split("/")[0] + "/" for n in names if "/" in n})
    if not scopes:
        return mg.graph_def
    if all(OPS.has(node.op) for node in mg.graph_def.node if node.name.startswith(scopes)):
        return mg.graph_def
    kept = [node for node in mg.graph_def.node if not node.name.startswith(scopes)]
    consumers = {i.lstrip("^").split(":")[0] for node in kept for i in node.input}
    if any(name.startswith(scopes) for name in consumers):
        return mg.graph_def  # something outside the saver reads from it: keep everything
    out = type(mg.graph_def)()
    out.CopyFrom(mg.graph_def)
    del out.node[:]
    out.node.extend(kept)
    return out


class _ImportedVariables:
    """One Variable per imported VariableV2 (or, for a resource variable, VarHandleOp) op, shared by every
    collection that lists it."""

    def __init__(self, importer: Any) -> None:
        self.importer = importer
        self.by_name: dict[str, Variable] = {}

    def from_proto(self, vdef: variable_pb2.VariableDef, key: str) -> Variable:
        name = vdef.variable_name.rpartition(":")[0] or vdef.variable_name
        if name in self.by_name:
            return self.by_name[name]
        ref = self._element(vdef.variable_name, key)
        existing = getattr(ref.op, "_variable", None)
        if existing is not None and existing.graph is ref.graph:
            var = existing
        else:
            init_value = self._element(vdef.initial_value_name, key) if vdef.initial_value_name else None
            kind = ResourceVariable if vdef.is_resource else Variable
            var = kind._from_graph_elements(ref, self._element(vdef.initializer_name, key),
                                            self._element(vdef.snapshot_name, key), init_value, vdef.trainable)
        self.by_name[name] = var
        return var

    def _element(self, name: str, key: str) -> Any:
        try:
            return self.importer.lookup(name)
        except ValueError as exc:
            raise ValueError(f"import_meta_graph: collection '{key}' names '{name}', which is not in the graph: "
                             f"{exc}") from None


def _collection_items(key: str, cdef: meta_graph_pb2.CollectionDef, importer: Any,
                      variables: _ImportedVariables) -> list:
    kind = cdef.WhichOneof("kind")
    if kind == "node_list":
        items = []
        for name in cdef.node_list.value:
            element = variables._element(name, key)
            wrapped = getattr(element.op, "_variable", None) if isinstance(element, Tensor) else None
            items.append(wrapped if wrapped is not None and element is wrapped._ref else element)
        return items
    if kind == "bytes_list" and key in VARIABLE_COLLECTIONS:
        out = []
        for raw in cdef.bytes_list.value:
            vdef = variable_pb2.VariableDef()
            with parsing(f"import_meta_graph: a VariableDef in collection '{key}'"):
                vdef.ParseFromString(raw)
            out.append(variables.from_proto(vdef, key))
        return out
    if kind == "bytes_list":
        return list(cdef.bytes_list.value)
    if kind == "int64_list":
        return [int(v) for v in cdef.int64_list.value]
    if kind == "float_list":
        return [float(v) for v in cdef.float_list.value]
    if kind is not None:
        warnings.warn(f"import_meta_graph: collection '{key}' holds '{kind}' items, which Tensorflux does not "
                      "import; it was skipped", CollectionWarning, stacklevel=4)
    return []


def default_saver_def(max_to_keep: int, keep_every_n_hours: float) -> saver_pb2.SaverDef:
    """The SaverDef of a Saver before its graph ops are built (V2 layout; the three graph names empty)."""
    return saver_pb2.SaverDef(max_to_keep=max_to_keep, keep_checkpoint_every_n_hours=keep_every_n_hours,
                              sharded=False, version=saver_pb2.SaverDef.V2)
