"""The tensorflux CPU device plugin: host-memory device and numpy kernels."""
