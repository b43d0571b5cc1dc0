"""The sandbox counts requests in flight, so a test can wait for an abandoned request to land."""

from __future__ import annotations

import threading

from plantsync.sandbox.faults import RequestStats


def test_idle_only_when_every_request_ended() -> None:
    stats = RequestStats()
    assert stats.wait_idle(0)
    stats.begin("sap")
    stats.begin("oracle")
    assert not stats.wait_idle(0)
    assert stats.snapshot("sap")["sap"]["in_flight"] == 1
    stats.end("sap")
    assert not stats.wait_idle(0)  # oracle's is still running
    stats.end("oracle")
    assert stats.wait_idle(0)


def test_a_waiter_is_woken_when_the_last_request_ends() -> None:
    stats = RequestStats()
    stats.begin("dynamics")
    started = threading.Event()
    result: list[bool] = []

    def wait() -> None:
        started.set()
        result.append(stats.wait_idle(30))

    waiter = threading.Thread(target=wait)
    waiter.start()
    started.wait(5)
    stats.end("dynamics")
    waiter.join(30)
    assert result == [True]


def test_clearing_the_counters_keeps_what_is_in_flight() -> None:
    stats = RequestStats()
    stats.begin("sap")
    stats.clear()
    assert not stats.wait_idle(0)
    stats.end("sap")
    assert stats.wait_idle(0)
