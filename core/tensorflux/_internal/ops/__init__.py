"""Core's op library: each module defines a family of ops (definition, shape function and Python wrapper)."""
