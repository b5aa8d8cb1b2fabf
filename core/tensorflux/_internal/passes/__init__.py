"""Graph passes that run once per plan, on the plan's node list, before slots are assigned.

The executor turns the ops a ``Session.run`` signature needs into a list of :class:`Node` (one per
kernel call, in execution order) and hands it to each enabled pass in turn:

| pass | module | what it does |
|---|---|---|
| ``cse`` | ``cse.py`` | merges pure nodes that compute the same thing from the same inputs |
| ``constant_folding`` | ``constant_folding.py`` | runs pure nodes whose inputs are all constants, once |
| ``fusion`` | ``fusion.py`` | conv2d + bias (+ relu) (+ 2x2 max pool) as one fused kernel; elementwise chains as one step |
| ``compile`` | ``clusters.py`` | hands runs of pure ops to a device that compiles them (``Device.compile_segment``) |

A pass returns the new node list and records, in ``ctx.aliases``, any value it replaced by another.
Passes can be switched off with ``TENSORFLUX_DISABLE_PASSES`` (see ``docs/environment.md``) or with
``Session(config={"disable_passes": [...]})``.

The plan's types are in ``plan.py``; ``pipeline.py`` runs the passes in order.
"""
