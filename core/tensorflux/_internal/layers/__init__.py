"""TF 1.x's ``tf.layers``: layer objects that create their variables with ``get_variable`` in a variable scope.

One module per kind of layer (``core``: dense, dropout, flatten; ``convolutional``; ``pooling``;
``normalization``), all on the scoping rules of ``base.Layer``.
"""
