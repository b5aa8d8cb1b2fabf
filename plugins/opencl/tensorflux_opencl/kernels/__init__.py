"""OpenCL kernel families, each registered by its module's ``register(registrar, dtypes)``."""
