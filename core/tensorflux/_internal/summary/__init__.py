"""TensorBoard summaries: the host-side encoders summary kernels share, and event files."""
