"""numpy kernels, one module per op family; each module's ``register(registrar)`` registers its table."""
