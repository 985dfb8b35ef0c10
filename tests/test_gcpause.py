"""paused_gc: the cyclic collector is off inside the block and back as it was after it."""

from __future__ import annotations

import gc
import weakref

import pytest

from lifecircle.gcpause import paused_gc


@pytest.fixture
def gc_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_gc_restores_the_state_also_nested_and_on_errors(gc_enabled):
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves the outer pause alone
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()  # was off before: stays off


def test_paused_gc_as_decorator_and_cycles_collected_afterwards(gc_enabled):
    class Node:
        pass

    @paused_gc()
    def make_cycle():
        assert not gc.isenabled()
        a = Node()
        a.me = a
        return weakref.ref(a)

    ref = make_cycle()
    assert gc.isenabled()
    gc.collect()  # the cycle made during the pause is freed by the next collection
    assert ref() is None
