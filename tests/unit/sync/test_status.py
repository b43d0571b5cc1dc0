"""A finished run's status from its record counts."""

from __future__ import annotations

import pytest

from plantsync.core.models.integration import FINISHED_STATUSES, SyncStatus


@pytest.mark.parametrize(
    ("written", "failed", "status"),
    [
        (0, 0, SyncStatus.success),  # nothing to write (an inbound pull with no new rows)
        (5, 0, SyncStatus.success),
        (4, 1, SyncStatus.partial),
        (0, 3, SyncStatus.failed),  # every record it tried failed
    ],
)
def test_status_of_counts(written: int, failed: int, status: SyncStatus) -> None:
    assert SyncStatus.of_counts(written=written, failed=failed) is status


def test_partial_is_a_finished_status() -> None:
    assert SyncStatus.partial.finished and SyncStatus.partial in FINISHED_STATUSES
    assert not SyncStatus.in_progress.finished
