"""The BLAS thread cap of invoke: held inside, shared by overlapping sections, restored by the last to leave."""

import threading

import numpy as np
import pytest

from tensorflux_mobile import Interpreter
from tensorflux_mobile.blas_threads import capped, openblas_thread_setter


def _count() -> int:
    setter = openblas_thread_setter()
    previous = setter(1)
    setter(previous)
    return previous


def test_cap_holds_inside_and_the_count_comes_back():
    if openblas_thread_setter() is None:
        pytest.skip("numpy's BLAS here is not an OpenBLAS found in /proc/self/maps; the cap does nothing")
    before = _count()
    with capped(1):
        assert _count() == 1
        with capped(1):
            assert _count() == 1
        assert _count() == 1
        assert float((np.ones((300, 300)) @ np.ones(300)).sum()) == 300.0 * 300
    assert _count() == before


def test_overlapping_sections_in_threads_restore_the_count():
    if openblas_thread_setter() is None:
        pytest.skip("numpy's BLAS here is not an OpenBLAS found in /proc/self/maps; the cap does nothing")
    before = _count()
    entered, release = threading.Barrier(2), threading.Event()

    def section():
        with capped(1):
            entered.wait()
            release.wait()

    t = threading.Thread(target=section)
    t.start()
    with capped(1):
        entered.wait()
    assert _count() == 1  # the other thread's section still holds the cap
    release.set()
    t.join()
    assert _count() == before


def test_num_threads_is_checked_like_tf_lites():
    from .test_interpreter import five_op_model

    with pytest.raises(ValueError, match="num_threads must be >= -1"):
        Interpreter(model_content=five_op_model(), num_threads=-2)
    for n in (None, -1, 0, 2):
        it = Interpreter(model_content=five_op_model(), num_threads=n)
        it.allocate_tensors()
        it.set_tensor(0, np.ones((1, 8), np.float32))
        it.invoke()
        assert it.get_tensor(it.get_output_details()[0]["index"]).shape == (1, 4)
