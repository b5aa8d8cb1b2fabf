"""Benchmarks: tensorflux against TensorFlow 1.x graph mode (``python -m benchmarks.compare``)."""
