"""The strict test device for these tests, installed through a real entry point (tests/installed_plugins.py)."""

from __future__ import annotations

from typing import Iterator

import array_api_strict as xp_strict
import pytest

from tests.installed_plugins import installed
from tests.sdk.strict_device import ENTRY_POINT as STRICT_PLUGIN


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The conformance suite's device type: the strict test device, installed for this module."""
    with installed(tmp_path_factory.mktemp("strict"), {"strict": STRICT_PLUGIN}):
        yield "strict"


@pytest.fixture(autouse=True)
def array_api_2023_12() -> Iterator[None]:
    """Hold ``array_api_strict`` to the 2023.12 standard, the version the reference kernels are written against."""
    with xp_strict.ArrayAPIStrictFlags(api_version="2023.12"):
        yield
