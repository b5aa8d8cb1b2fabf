"""The mobile plugin's interpreter against LiteRT, and what quantization costs on MNIST.

    python benchmarks/mobile_interpreter.py                 # CNN and MLP of examples/, trained --steps each
    python benchmarks/mobile_interpreter.py --size tiny --json

Reports, all medians over --rounds:
- invoke time of the same .tflite files in our Interpreter and in LiteRT's (ai-edge-litert), at batch 1:
  a 5-operator graph (the per-invoke overhead) and the MNIST CNN (float32 and int8);
- the .tflite file sizes in each mode (float32, float16, dynamic, int8) and int8's share of float32;
- test accuracy of the graph and of each mode's file in our interpreter (the whole test set at --size full),
  with the drop against the graph.
The models are examples/mnist_cnn.py's deep-MNIST CNN (5x5x32, 5x5x64, fc1024) and examples/mnist_mlp.py's
784-128-32-10 MLP, trained here for --steps (far fewer than the examples' defaults: the benchmark measures the
conversion, not the training).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import tensorflux as tf
import tensorflux_mobile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.plugins.mobile.test_interpreter import five_op_model  # noqa: E402 - the tests' 5-op graph, shared

MODES = (None, "float16", "dynamic", "int8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "full"], default="full",
                        help="tiny: a few training steps and 200 test images (a smoke run)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per model (default 1500, tiny 5)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per measurement (default 200, tiny 5)")
    parser.add_argument("--data-dir", default=tf.datasets.mnist.default_dir(), help="the four MNIST .gz files")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def median_invoke(interpreter_cls, data: bytes, x: np.ndarray, rounds: int) -> float:
    """Median seconds of one invoke() on input ``x`` (after warm-up)."""
    it = interpreter_cls(model_content=data)
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, list(x.shape))
    it.allocate_tensors()
    it.set_tensor(index, x)
    for _ in range(5):
        it.invoke()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def predict(interpreter_cls, data: bytes, images: np.ndarray, batch: int = 500) -> np.ndarray:
    it = interpreter_cls(model_content=data)
    index = it.get_input_details()[0]["index"]
    out = []
    for start in range(0, len(images), batch):
        part = images[start:start + batch]
        it.resize_tensor_input(index, list(part.shape))
        it.allocate_tensors()
        it.set_tensor(index, part)
        it.invoke()
        out.append(it.get_tensor(it.get_output_details()[0]["index"]))
    return np.concatenate(out)


def train(kind: str, mnist, steps: int):
    """examples/mnist_cnn.py's CNN or examples/mnist_mlp.py's MLP, trained ``steps`` steps; (session, x, probs)."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 784], name="images")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        keep = tf.placeholder(tf.float32, [], name="keep_prob")
        if kind == "cnn":
            h = tf.reshape(x, [-1, 28, 28, 1])
            for cin, cout in ((1, 32), (32, 64)):
                w = tf.Variable(tf.truncated_normal([5, 5, cin, cout], stddev=0.1))
                h = tf.nn.relu(tf.nn.conv2d(h, w, [1, 1, 1, 1], "SAME") + tf.Variable(tf.constant(0.1, shape=[cout])))
                h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
            h = tf.reshape(h, [-1, 7 * 7 * 64])
            w = tf.Variable(tf.truncated_normal([7 * 7 * 64, 1024], stddev=0.1))
            h = tf.nn.dropout(tf.nn.relu(tf.matmul(h, w) + tf.Variable(tf.constant(0.1, shape=[1024]))), keep)
            logits = tf.matmul(h, tf.Variable(tf.truncated_normal([1024, 10], stddev=0.1))) + 0.1
            optimizer, batch = tf.train.AdamOptimizer(1e-3), 50
        else:
            h = x
            for n_in, n_out in ((784, 128), (128, 32)):
                w = tf.Variable(tf.truncated_normal([n_in, n_out], stddev=1.0 / math.sqrt(n_in)))
                h = tf.nn.relu(tf.matmul(h, w) + tf.Variable(tf.zeros([n_out])))
            logits = tf.matmul(h, tf.Variable(tf.truncated_normal([32, 10], stddev=1.0 / math.sqrt(32)))) + 0.0
            optimizer, batch = tf.train.GradientDescentOptimizer(0.3), 100
        probs = tf.nn.softmax(logits, name="probs")
        train_op = optimizer.minimize(tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)))
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            bx, by = mnist.train.next_batch(batch)
            sess.run(train_op, {x: bx, labels: by, keep: 0.5})
    return sess, x, probs, keep


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tiny = args.size == "tiny"
    steps = args.steps if args.steps is not None else (5 if tiny else 1500)
    rounds = args.rounds if args.rounds is not None else (5 if tiny else 200)
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    report: dict = {"size": args.size, "steps": steps, "rounds": rounds}
    five = five_op_model()
    one = np.ones((1, 8), np.float32)
    report["five_op_invoke_us"] = {name: median_invoke(cls, five, one, rounds * 10) * 1e6
                                   for name, cls in (("tensorflux_mobile", tensorflux_mobile.Interpreter), ("litert", LiteRT))}
    try:
        mnist = tf.datasets.mnist.read_data_sets(args.data_dir, seed=0)
    except (tf.datasets.mnist.DataUnavailableError, tf.datasets.mnist.CorruptDataError) as exc:
        report["mnist"] = f"skipped: {exc}"
        mnist = None
    if mnist is not None:
        images, labels = mnist.test.images, mnist.test.labels
        calib = 20 if tiny else 500  # calibration samples (500 is the converter's most)
        if tiny:
            images, labels = images[:200], labels[:200]
        for kind in ("cnn", "mlp"):
            sess, x, probs, keep = train(kind, mnist, steps)
            graph_acc = float(np.mean(np.concatenate([sess.run(probs, {x: images[i:i + 1000], keep: 1.0})
                                                      for i in range(0, len(images), 1000)]).argmax(1) == labels))
            files = {mode or "float32": tensorflux_mobile.convert(sess, [x], [probs], quantize=mode, feed_dict={keep: 1.0},
                                                                  representative_data=mnist.train.images[:calib])
                     for mode in MODES}
            row: dict = {"graph_accuracy": graph_acc, "sizes": {m: len(d) for m, d in files.items()}}
            row["int8_share_of_float32"] = len(files["int8"]) / len(files["float32"])
            row["accuracy"] = {m: float(np.mean(predict(tensorflux_mobile.Interpreter, d, images).argmax(1) == labels))
                               for m, d in files.items()}
            row["drop_points"] = {m: round(100 * (graph_acc - a), 3) for m, a in row["accuracy"].items()}
            if kind == "cnn":
                img = images[:1]
                row["invoke_us_batch1"] = {m: {"tensorflux_mobile": median_invoke(tensorflux_mobile.Interpreter, files[m],
                                                                                  img, rounds) * 1e6,
                                               "litert": median_invoke(LiteRT, files[m], img, rounds) * 1e6}
                                           for m in ("float32", "int8")}
            report[f"mnist_{kind}"] = row
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _print(report: dict) -> None:
    five = report["five_op_invoke_us"]
    print(f"5-op graph invoke (median): tensorflux_mobile {five['tensorflux_mobile']:.1f} us, "
          f"LiteRT {five['litert']:.1f} us")
    for kind in ("cnn", "mlp"):
        row = report.get(f"mnist_{kind}")
        if not isinstance(row, dict):
            continue
        print(f"MNIST {kind}: graph accuracy {row['graph_accuracy']:.4f}; int8 file is "
              f"{100 * row['int8_share_of_float32']:.1f}% of float32")
        for mode, size in row["sizes"].items():
            print(f"  {mode:8s} {size:>10,} bytes  accuracy {row['accuracy'][mode]:.4f}  "
                  f"drop {row['drop_points'][mode]:+.2f} points")
        for mode, t in row.get("invoke_us_batch1", {}).items():
            print(f"  invoke batch 1, {mode}: tensorflux_mobile {t['tensorflux_mobile']:.0f} us, LiteRT {t['litert']:.0f} us")
    if isinstance(report.get("mnist"), str):
        print(f"MNIST: {report['mnist']}")


if __name__ == "__main__":
    sys.exit(main())
