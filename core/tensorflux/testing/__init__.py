"""Reusable test tools for plugin authors: the op-info table and the device conformance suite.

Run the conformance suite against a device with
``pytest --pyargs tensorflux.testing.conformance --device opencl``.
"""
