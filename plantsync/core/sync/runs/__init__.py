"""The life cycle of a sync run (a ``SyncLog`` row), safe across processes and both databases.

::

    request_sync ──> pending ──claim──> in_progress ──finish──> success | partial | failed | skipped
                                         │  heartbeat renews the lease
                                         └─ lease expired ──expire_stale_leases──> failed

- ``request_sync`` inserts a ``pending`` log unless the same (connection, entity_type,
  direction) already has one pending or in progress — the database's partial unique index
  decides, so two concurrent triggers get one run: ``(log, True)`` for the new one,
  ``(existing, False)`` for the other.
- ``claim``/``claim_next`` move a log to ``in_progress`` with one conditional UPDATE
  (``WHERE status = 'pending'``): exactly one claimer sees a row count of 1.
- ``heartbeat`` renews the lease (and reports progress) only for the worker holding it;
  ``finish`` closes a run once; ``expire_stale_leases`` fails runs whose worker went silent.

Every function commits its own short transaction: pass a write session.

The steps live in ``requesting`` (``request_sync``, ``retry_log``) and ``leases`` (``claim``,
``heartbeat``, ``finish``, ``expire_stale_leases``).
"""

from plantsync.core.sync.runs.leases import (
    DEFAULT_LEASE_SECONDS,
    RecordFailure,
    RunCounts,
    add_record_errors,
    claim,
    claim_next,
    expire_stale_leases,
    finish,
    heartbeat,
)
from plantsync.core.sync.runs.requesting import LOCAL_TABLES, active_run, request_sync, retry_log

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "LOCAL_TABLES",
    "RecordFailure",
    "RunCounts",
    "active_run",
    "add_record_errors",
    "claim",
    "claim_next",
    "expire_stale_leases",
    "finish",
    "heartbeat",
    "request_sync",
    "retry_log",
]
