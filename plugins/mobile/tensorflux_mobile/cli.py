"""``python -m tensorflux convert``: a saved model (meta graph + checkpoint, or a frozen GraphDef) -> ``.tflite``.

    python -m tensorflux convert --checkpoint /tmp/mnist_mlp/model --inputs images --outputs logits \\
        --quantize int8 --representative-data samples.npy -o mlp_int8.tflite

Example:
    >>> from tensorflux_mobile.cli import COMMANDS
    >>> COMMANDS["convert"].help.split(":")[0]
    'convert a trained graph to a TensorFlow Lite file'
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np


def _load(args: argparse.Namespace) -> Any:
    import tensorflux as tf

    graph = tf.Graph()
    with graph.as_default():
        if args.graph:
            with open(args.graph, "rb") as f:
                tf.import_graph_def(f.read(), name="")
            return tf.Session(graph=graph)
        meta = args.meta_graph or f"{args.checkpoint}.meta"
        saver = tf.train.import_meta_graph(meta)
        sess = tf.Session(graph=graph)
        saver.restore(sess, args.checkpoint)
        return sess


def _feeds(pairs: list, graph: Any) -> dict:
    feeds = {}
    for pair in pairs or []:
        name, _, value = pair.partition("=")
        if not value:
            raise ValueError(f"--feed {pair!r}: expected NAME=VALUE, e.g. keep_prob=1.0")
        tensor = graph.get_tensor_by_name(name if ":" in name else f"{name}:0")
        feeds[tensor] = np.asarray(float(value), dtype=tensor.dtype.as_numpy_dtype)
    return feeds


def _representative(path: str | None) -> Any:
    if path is None:
        return None
    data = np.load(path)
    if isinstance(data, np.lib.npyio.NpzFile):
        data = data[data.files[0]]
    return data


class ConvertCommand:
    help = "convert a trained graph to a TensorFlow Lite file: float, float16, dynamic-range or int8"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--checkpoint", help="checkpoint prefix; its meta graph is PREFIX.meta unless --meta-graph")
        source.add_argument("--graph", help="a frozen GraphDef (.pb): constants only, no variables")
        parser.add_argument("--meta-graph", help="the .meta file to restore the checkpoint into")
        parser.add_argument("--inputs", required=True, help="comma-separated input tensor names (x or x:0)")
        parser.add_argument("--outputs", required=True, help="comma-separated output tensor names")
        parser.add_argument("--quantize", choices=["float16", "dynamic", "int8"], default=None,
                            help="quantization mode (default: none, float32)")
        parser.add_argument("--representative-data", help=".npy/.npz of input samples (rows) to calibrate int8 on")
        parser.add_argument("--feed", action="append", metavar="NAME=VALUE",
                            help="bind a placeholder that is not an input, e.g. keep_prob=1.0 (repeatable)")
        parser.add_argument("-o", "--output", required=True, help="the .tflite file to write")

    def run(self, args: argparse.Namespace) -> int:
        from .converter import convert
        from .lowering import ConversionError

        try:
            sess = _load(args)
            data = convert(sess, args.inputs.split(","), args.outputs.split(","), quantize=args.quantize,
                           representative_data=_representative(args.representative_data),
                           feed_dict=_feeds(args.feed, sess.graph))
        except (ConversionError, ValueError, OSError, KeyError) as exc:
            print(f"tensorflux convert: {exc}", file=sys.stderr)
            return 1
        with open(args.output, "wb") as f:
            f.write(data)
        print(f"wrote {args.output} ({os.path.getsize(args.output):,} bytes, quantize={args.quantize or 'none'})")
        return 0


COMMANDS = {"convert": ConvertCommand()}
