"""Protobuf schemas of Tensorflux's files, wire-compatible with TensorFlow's where TF has the message.

Each ``X.proto`` here has a generated ``X_pb2`` module beside it (see ``_codegen.py``).

Example:
    >>> from tensorflux.proto import graph_pb2
    >>> graph_pb2.GraphDef().node
    []
"""
