"""tensorflux-cuda: NVIDIA GPU devices and kernels on CuPy (see docs/cuda.md)."""
