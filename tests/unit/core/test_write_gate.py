"""The SQLite write gate serves writers first come, first served (no I/O)."""

from __future__ import annotations

import threading

from plantsync.core.db import _WriteGate


def _wait_for_waiter(gate: _WriteGate, thread: threading.Thread) -> None:
    while gate.waiting == 0:
        assert thread.is_alive()
        thread.join(0.001)


def test_a_releasing_writer_cannot_jump_the_queue() -> None:
    gate = _WriteGate()
    got: list[str] = []
    assert gate.acquire(1)

    def waiter() -> None:
        assert gate.acquire(5)
        got.append("waiter")
        gate.release()

    t = threading.Thread(target=waiter)
    t.start()
    _wait_for_waiter(gate, t)
    gate.release()
    assert gate.acquire(5)  # the greedy writer begins again at once ...
    got.append("greedy")  # ... but only after the waiter had its turn
    gate.release()
    t.join(5)
    assert got == ["waiter", "greedy"]


def test_a_timed_out_waiter_leaves_the_queue() -> None:
    gate = _WriteGate()
    assert gate.acquire(1)
    assert not gate.acquire(0.01)
    assert gate.waiting == 0
    gate.release()
    assert gate.acquire(0.01)
    gate.release()
