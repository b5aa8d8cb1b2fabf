"""The cpu device makes glibc keep freed large buffers, so repeated big allocations stop faulting pages in.

Page-fault counts depend on transparent huge pages, so the test observes the policy itself: a freed 96 MiB
buffer stays in the process (resident, ready for reuse) instead of going back to the system.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

_PROBE = """
import resource, numpy as np, tensorflux as tf
from tensorflux_cpu.allocator import retain_freed_memory
tf.Session().close()  # creating the cpu device applies the setting
def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20
before = resident_mib()
a = np.empty(96 << 20, np.uint8)
a[::4096] = 1  # touch every page, as a kernel writing its output does
del a
print(retain_freed_memory(), round(resident_mib() - before))
"""


def _probe(env_value: str) -> tuple[str, int]:
    env = {**os.environ, "TENSORFLUX_CPU_RETAIN_MEMORY": env_value}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    applied, kept_mib = out.stdout.split()[-2:]
    return applied, int(kept_mib)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the setting is glibc's mallopt; other C libraries keep their own policy")
def test_repeated_large_buffers_reuse_memory_unless_turned_off():
    applied, kept = _probe("1")
    skipped, returned = _probe("0")
    assert (applied, skipped) == ("True", "False")
    assert kept >= 90, f"a freed 96 MiB buffer should stay resident for reuse; {kept} MiB stayed"
    assert returned <= 8, f"with TENSORFLUX_CPU_RETAIN_MEMORY=0 the buffer goes back to the system; {returned} MiB stayed"
