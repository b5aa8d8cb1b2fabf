"""Session: feeds, nested fetches, plan caching and the default-session stack."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from .devices import Device
from .errors import UnavailableError
from .executor import Plan, compile_plan
from .graph import (
    Graph,
    Operation,
    Tensor,
    get_default_graph,
    get_default_session as get_default_session,
    interactive_sessions,
    session_stack,
)
from .indexed_slices import IndexedSlices, IndexedSlicesValue
from .passes.pipeline import disabled_passes
from .placement import place
from .plugins import ensure_discovered
from .registry import DEVICES
from .session_config import session_config
from .session_run import check_feed as _check_feed, fast_key, keyable, prepare
from .session_state import SessionState

# The most compiled plans a session keeps unless its config's ``plan_cache_size`` says otherwise. The cache is
# least-recently-used: a program that runs many distinct (fetches, feeds) signatures recompiles the ones it has
# not used for a while instead of growing without bound; 0 turns caching off.
DEFAULT_PLAN_CACHE_SIZE = 256


class _FetchMapper:
    """Flattens an arbitrarily nested fetch structure and rebuilds results in the same structure."""

    def __init__(self, graph: Graph, fetches: Any) -> None:
        self.graph = graph
        self.unique: list = []
        self._index: dict = {}
        self.build = self._mapper(fetches)
        # One leaf fetched: the result is the one value, no structure to build.
        self.single = isinstance(fetches, (Tensor, Operation, str)) or hasattr(fetches, "_as_graph_element")

    def _leaf(self, fetch: Any) -> Callable[[list], Any]:
        try:
            element = self.graph.as_graph_element(fetch)
        except (TypeError, KeyError, ValueError) as exc:
            # str() of a KeyError is the repr of its message; use the message itself to avoid nested quoting.
            detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise type(exc)(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor or Operation: {detail}") from None
        if element not in self._index:
            self._index[element] = len(self.unique)
            self.unique.append(element)
        i = self._index[element]
        return lambda values: values[i]

    def _mapper(self, fetches: Any) -> Callable[[list], Any]:
        if fetches is None:
            raise TypeError("Fetch argument None has invalid type; fetch a Tensor, Operation or a structure of them")
        if isinstance(fetches, (Tensor, Operation, str)) or hasattr(fetches, "_as_graph_element"):
            return self._leaf(fetches)
        if isinstance(fetches, IndexedSlices):
            parts = [self._leaf(fetches.values), self._leaf(fetches.indices)]
            shape = self._leaf(fetches.dense_shape) if fetches.dense_shape is not None else (lambda values: None)
            return lambda values: IndexedSlicesValue(parts[0](values), parts[1](values), shape(values))
        if isinstance(fetches, dict):
            keys = list(fetches)
            subs = [self._mapper(fetches[k]) for k in keys]
            kind = type(fetches)
            return lambda values: kind(zip(keys, (m(values) for m in subs)))
        if isinstance(fetches, tuple) and hasattr(fetches, "_fields"):
            subs = [self._mapper(f) for f in fetches]
            kind = type(fetches)
            return lambda values: kind(*(m(values) for m in subs))
        if isinstance(fetches, (list, tuple)):
            subs = [self._mapper(f) for f in fetches]
            kind = type(fetches)
            return lambda values: kind(m(values) for m in subs)
        raise TypeError(f"Fetch argument {fetches!r} has invalid type {type(fetches).__name__}; expected a Tensor, "
                        "Operation, IndexedSlices, tensor name, or a list/tuple/dict/namedtuple of them")


class Session:
    """Runs parts of a graph. Plans are compiled once per (fetches, feeds) signature and reused.

    The most recently used ``config={"plan_cache_size": N}`` plans (default 256) are kept.

    Example:
        >>> import tensorflux as tf
        >>> with tf.Session() as sess:
        ...     sess.run({"a": tf.constant(1), "b": [tf.constant(2.0)]})
        {'a': 1, 'b': [2.0]}
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None) -> None:
        ensure_discovered()
        self.graph = graph if graph is not None else get_default_graph()
        # A copy, as TF makes: changing the caller's ConfigProto later changes nothing here. An unknown or
        # ill-typed field, or an unknown pass name, fails here naming the known ones.
        settings = session_config(config)
        disabled_passes(settings)
        self._state = SessionState(config=settings)
        size = settings.plan_cache_size
        self._plan_cache_size = DEFAULT_PLAN_CACHE_SIZE if size is None else int(size)
        self._closed = False
        self._lock = self._state.lock
        self._plans: OrderedDict = OrderedDict()  # least recently used first
        # Session.run's fetches and feed keys, as given, to (key in _plans, prepared run): a repeated call's
        # one lookup. Only entries whose plan is in _plans; cleared whenever a plan leaves it.
        self._fast: dict = {}
        self._default_ctx: list = []

    # -- context management ------------------------------------------------------------------
    def __enter__(self) -> "Session":
        self._default_ctx.append(self.graph.as_default())
        self._default_ctx[-1].__enter__()
        session_stack().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        session_stack().remove(self)
        self._default_ctx.pop().__exit__(*exc)
        self.close()

    def as_default(self) -> Any:
        """Make this the default session inside a ``with`` block (without closing it afterwards)."""
        session = self

        class _Default:
            def __enter__(self_inner) -> "Session":
                session_stack().append(session)
                return session

            def __exit__(self_inner, *exc: Any) -> None:
                session_stack().remove(session)

        return _Default()

    def close(self) -> None:
        """Release the session's variables and plans; later runs raise RuntimeError."""
        with self._lock:
            self._closed = True
            self._plans.clear()
            self._fast.clear()
            self._state.variables.clear()
            self._state.close_resources()

    @property
    def sess_str(self) -> str:
        return ""

    def list_devices(self) -> list[Device]:
        return DEVICES.all()

    # -- running ----------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        """Compute ``fetches`` (any nesting of tensors, ops and names) given ``feed_dict``.

        A call repeating an earlier one's fetches and feed keys reuses the run prepared for it then: feeds of
        the right dtype and shape and the results are passed on uncopied. ``make_callable`` skips even the lookup.

        Example:
            >>> import tensorflux as tf
            >>> x = tf.placeholder(tf.float32, [None])
            >>> tf.Session().run([x * 2, x + 1], {x: [1.0]})
            [array([2.], dtype=float32), array([2.], dtype=float32)]
        """
        if options is None:
            # A repeat of an earlier call, as given, finds its prepared run with one hash (see session_run).
            try:
                # fast_key(fetches, feed_dict), spelled out: a call of its own costs once the caches are cold.
                head = (type(fetches), *fetches) if isinstance(fetches, (list, tuple)) else fetches
                key, prepared = self._fast[(head, *feed_dict) if feed_dict else (head,)]
                self._plans.move_to_end(key)  # least recently used order; KeyError when it was evicted
            except (KeyError, TypeError):  # TypeError: an unhashable fetch structure, keyed below instead
                pass
            else:
                return prepared(feed_dict.values() if feed_dict else ())
        return self._run(fetches, feed_dict, options, run_metadata)

    def _run(self, fetches: Any, feed_dict: Any, options: Any, run_metadata: Any) -> Any:
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session")
        feed_items = self._feed_items(feed_dict) if feed_dict else ()
        key = (_fetch_key(fetches), tuple(t for t, _ in feed_items))
        cached = self._cached_plan(key) if key[0] is not None else None
        if cached is None:
            mapper = _FetchMapper(self.graph, fetches)
            plan = self._plan_for(mapper.unique, list(key[1]))
            prepared = prepare(self, plan, mapper, list(key[1]))
            if key[0] is not None:
                self._cache_plan(key, (plan, prepared))
        else:
            prepared = cached[1]
        if key[0] is not None and keyable(fetches):
            with self._lock:
                if key in self._plans:
                    if len(self._fast) >= 2 * self._plan_cache_size:
                        self._fast.clear()  # names and tensors for one signature: bounded all the same
                    self._fast[fast_key(fetches, feed_dict)] = (key, prepared)
        return prepared([v for _, v in feed_items], options, run_metadata)

    def make_callable(self, fetches: Any, feed_list: list | tuple | None = None, accept_options: bool = False) -> Callable:
        """A function that runs ``fetches`` given values for ``feed_list``'s tensors, positionally (TF-1.x's).

        The plan is compiled here, once; the callable keeps it (outside the plan cache), so each call only
        checks its feeds, runs the plan and arranges the results in ``fetches``' structure. With
        ``accept_options`` it also takes ``options`` and ``run_metadata`` keywords, as ``run`` does.

        Example:
            >>> import tensorflux as tf
            >>> x = tf.placeholder(tf.float32, [])
            >>> with tf.Session() as sess:
            ...     double = sess.make_callable({"twice": x * 2}, [x])
            ...     double(3.0)
            {'twice': 6.0}
        """
        if feed_list is not None and not isinstance(feed_list, (list, tuple)):
            raise TypeError(f"make_callable: feed_list must be a list or tuple, got {type(feed_list).__name__}")
        feeds = [t for t, _ in self._feed_items({k: None for k in feed_list or ()})]
        if len(set(feeds)) != len(feeds):
            raise ValueError(f"make_callable: feed_list names a tensor twice: {[t.name for t in feeds]}")
        count = len(feeds)
        mapper = _FetchMapper(self.graph, fetches)
        # Compiled now, so that an unfed placeholder or a foreign tensor fails here; again after a placement change.
        holder = [prepare(self, self._plan_for(mapper.unique, feeds), mapper, feeds)]

        def call(*values: Any, options: Any = None, run_metadata: Any = None) -> Any:
            if self._closed:
                raise RuntimeError("Attempted to use a closed Session")
            if len(values) != count:
                raise TypeError(f"The callable made for {count} feeds {[t.name for t in feeds]} was given "
                                f"{len(values)} values")
            if not accept_options and (options is not None or run_metadata is not None):
                raise TypeError("This callable takes no options or run_metadata: make it with accept_options=True")
            if not holder:  # an op's device turned out unable to run it: placed again
                holder.append(prepare(self, self._plan_for(mapper.unique, feeds), mapper, feeds))
            try:
                return holder[0](values, options, run_metadata)
            except UnavailableError:
                holder.clear()
                raise

        return call

    def _cached_plan(self, key: Any) -> Any:
        with self._lock:  # threads sharing a session reorder the same OrderedDict
            cached = self._plans.get(key)
            if cached is not None:
                self._plans.move_to_end(key)
            return cached

    def _cache_plan(self, key: Any, entry: tuple) -> None:
        with self._lock:
            if self._plan_cache_size == 0 or self._closed:
                return
            self._plans[key] = entry
            self._plans.move_to_end(key)
            while len(self._plans) > self._plan_cache_size:
                self._plans.popitem(last=False)
                self._fast.clear()  # it may name the evicted plan

    def _forget_placement(self, exc: UnavailableError) -> None:
        """After a kernel found its device unable to run it: mark that, and re-place ops of its type next run."""
        placement = self._state.placement
        with self._lock:
            device = placement.get(exc.op, (None, None))[0] if exc.op is not None else None
            if device is None:
                return
            device.mark_unavailable(exc.op.type, str(exc.__cause__ or exc))
            self._plans.clear()
            self._fast.clear()
            for op in [op for op, (dev, _) in placement.items() if dev is device and op.type == exc.op.type]:
                del placement[op]

    def _feed_items(self, feed_dict: dict) -> tuple:
        items = []
        for key, value in feed_dict.items():
            if isinstance(key, Tensor):
                t = key
            elif hasattr(key, "_as_tensor"):
                t = key._as_tensor()
            elif isinstance(key, str):
                try:
                    t = self.graph.get_tensor_by_name(key)
                except (KeyError, ValueError) as exc:
                    raise TypeError(f"Cannot interpret feed_dict key {key!r} as a Tensor: {exc}") from None
            else:
                raise TypeError(f"Cannot interpret feed_dict key {key!r} as a Tensor: keys must be Tensors or names")
            if t.graph is not self.graph:
                raise ValueError(f"Feed key '{t.name}' is not an element of this session's graph")
            items.append((t, value))
        return tuple(items)

    def _plan_for(self, targets: list, feeds: list) -> Plan:
        with self._lock:
            for t in targets:
                if isinstance(t, (Tensor, Operation)) and t.graph is not self.graph:
                    raise ValueError(f"Fetch '{t.name}' is not an element of this session's graph")
            return compile_plan(self._state, targets, feeds)

    @property
    def state(self) -> SessionState:
        """What this session's plans share (variables, placement, RNGs), as the executor sees it.

        Example:
            >>> import tensorflux as tf
            >>> v = tf.Variable(1.0, name="v")
            >>> with tf.Session() as sess:
            ...     _ = sess.run(v.initializer)
            ...     sess.state.variables["v"].device.name
            '/cpu:0'
        """
        return self._state

    @property
    def config(self) -> Any:
        """This session's settings: a copy of the ``config`` it was created with, as a ``tf.ConfigProto``.

        Example:
            >>> import tensorflux as tf
            >>> tf.Session(config={"plan_cache_size": 8}).config.plan_cache_size
            8
        """
        return self._state.config

    def load_variable(self, variable: Any, value: Any) -> None:
        """Write ``value`` into ``variable`` in this session without running ops (``Variable.load``, restores).

        Example:
            >>> import tensorflux as tf
            >>> v = tf.Variable(0.0)
            >>> with tf.Session() as sess:
            ...     sess.load_variable(v, 3.0)
            ...     float(sess.run(v))
            3.0
        """
        with self._lock:
            device, _ = place(variable.op, self._state.placement)
            slot = self._state.variable_slot(variable.op, device)
            slot.assign(device.from_host(_check_feed(variable.value(), value)))  # a resource variable's _ref is its handle

    def read_variable(self, variable: Any) -> np.ndarray:
        """A host copy of ``variable``'s value in this session, without running ops (what a Saver writes).

        Example:
            >>> import tensorflux as tf
            >>> v = tf.Variable([1, 2])
            >>> with tf.Session() as sess:
            ...     _ = sess.run(v.initializer)
            ...     sess.read_variable(v)
            array([1, 2], dtype=int32)
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session")
        return self._state.read_variable(variable.op.name)


def _fetch_key(fetches: Any) -> Any:
    """A hashable key for a fetch structure (any nesting of tensors, ops, names, lists, tuples, dicts and
    namedtuples); None when some part cannot be keyed, and the plan is then rebuilt each run.

    The key records container types and dict keys, because the cached result builder depends on them.
    """
    if isinstance(fetches, (Tensor, Operation)):
        return fetches
    if isinstance(fetches, str):
        return ("name", fetches)
    if hasattr(fetches, "_as_graph_element"):
        return ("element", fetches)
    if isinstance(fetches, IndexedSlices):
        return ("slices", fetches.values, fetches.indices, fetches.dense_shape)
    if isinstance(fetches, (list, tuple)):
        parts = tuple(_fetch_key(f) for f in fetches)
        return None if any(p is None for p in parts) else (type(fetches),) + parts
    if isinstance(fetches, dict):
        try:
            parts = tuple((k, _fetch_key(v)) for k, v in fetches.items())
            hash(parts)
        except TypeError:
            return None
        return None if any(p is None for _, p in parts) else (type(fetches), parts)
    return None


class InteractiveSession(Session):
    """A Session that installs itself as the default on creation, for shells and notebooks.

    Example:
        >>> import tensorflux as tf
        >>> sess = tf.InteractiveSession()
        >>> tf.constant(3).eval()
        3
        >>> sess.close()
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None) -> None:
        super().__init__(target, graph, config)
        interactive_sessions().append(self)

    def close(self) -> None:
        super().close()
        if self in interactive_sessions():
            interactive_sessions().remove(self)
