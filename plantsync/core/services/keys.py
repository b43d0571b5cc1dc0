"""Key rotation: re-encrypt every stored secret with the newest encryption key.

Rotating: put a new key first (``plantsync keys rotate`` does it on the embedded default;
on PostgreSQL prepend it to ``PLANTSYNC_ENCRYPTION_KEYS`` on every node), run the rotation,
then the old keys may be removed. Rows are re-encrypted in small batches, each its own short
write transaction, so the API keeps answering during a rotation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlmodel import col, select

import plantsync.core.models  # noqa: F401 - every model registers its encrypted columns
from plantsync.core.db import Database
from plantsync.core.security import EncryptedColumn, SecretBox, encrypted_columns

log = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass(frozen=True)
class RotationResult:
    column: str
    rows: int


def rotate_encrypted_secrets(*, db: Database, box: SecretBox) -> list[RotationResult]:
    """Re-encrypts every registered encrypted column with ``box``'s newest key.

    Raises:
        ConfigurationError: a stored secret cannot be decrypted with any configured key.
    """
    results = [RotationResult(c.label, _rotate_column(db, box, c)) for c in encrypted_columns()]
    log.info("re-encrypted %d stored secret(s)", sum(r.rows for r in results))
    return results


def _rotate_column(db: Database, box: SecretBox, column: EncryptedColumn) -> int:
    pk = sa_inspect(column.model).primary_key[0]
    attr = getattr(column.model, column.attribute)
    last: Any = None
    done = 0
    while True:
        with db.write_session() as session:
            query = select(column.model).where(col(attr).is_not(None)).order_by(pk)
            if last is not None:
                query = query.where(pk > last)
            rows = session.exec(query.limit(BATCH_SIZE)).all()
            for row in rows:
                setattr(row, column.attribute, box.rotate(getattr(row, column.attribute)))
                session.add(row)
        done += len(rows)
        if len(rows) < BATCH_SIZE:
            return done
        last = getattr(rows[-1], pk.key)
