"""``tf.data``'s machinery: datasets described in Python, iterated on the host by the kernels of two stateful ops.

A :class:`~.dataset.Dataset` is a tree of small nodes (sources and transformations) that records its element
types and shapes when it is built, and the graph tensors it captures (a sliced array, a batch size, a placeholder
fed when an initializable iterator is initialized). ``MakeIterator`` evaluates those tensors in a session and keeps
the iteration state in that session; ``IteratorGetNext`` pulls the next element from it. Modules import downward:
structure, tokens, function, dataset, transforms, prefetch, iterator, kernels.
"""
