"""Training: the Optimizer base class, one module per optimizer, learning-rate schedules and the global step."""
