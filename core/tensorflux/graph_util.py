"""``tf.graph_util``: freeze a trained graph into constants, cut out the part outputs need, drop training-only nodes;
and ``fold_batch_norms``, our extension, which folds inference batch norms into the preceding convolution.

Example:
    >>> import tensorflux as tf
    >>> sorted(n for n in dir(tf.graph_util) if not n.startswith("_"))
    ['convert_variables_to_constants', 'extract_sub_graph', 'fold_batch_norms', 'remove_training_nodes']
"""

from ._internal.graph_transforms import fold_batch_norms as fold_batch_norms
from ._internal.graph_util import (
    convert_variables_to_constants as convert_variables_to_constants,
    extract_sub_graph as extract_sub_graph,
    remove_training_nodes as remove_training_nodes,
)
