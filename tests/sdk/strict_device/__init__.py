"""A device plugin for tests whose arrays are ``array_api_strict`` arrays (see plugin.py)."""

ENTRY_POINT = "tests.sdk.strict_device.plugin"  # what an entry point names to load the plugin
