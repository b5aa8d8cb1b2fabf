"""Private implementation of tensorflux. Import the public names from ``tensorflux`` instead."""
