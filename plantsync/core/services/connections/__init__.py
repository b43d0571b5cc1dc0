"""ERP connections: create, read, update, archive, test.

Shared by the API (``/erp/connections``) and the CLI (``plantsync connections``). Field rules
live in ``ConnectionCreate``/``ConnectionUpdate``; the provider-dependent ones (auth_config,
sync_entities, field_mappings) here. ``auth_config`` is validated by the provider's
``auth_model``, stored only as a ``SecretBox`` token, and never returned: responses carry
``auth_config_keys``, the names of the keys that are set. Nothing secret reaches the audit log.

- ``read``: one connection, the tenant's list, health (consecutive failures), the public shape.
- ``write``: create, update, archive.
- ``secrets``: the auth_config rules, encryption, and scrubbing secrets out of texts.
- ``diagnose``: ``test_connection``.

What a run is built from (decrypted credentials, the effective mapping) is
``core.sync.setup.prepare_run``.
"""

from plantsync.core.services.connections.diagnose import test_connection
from plantsync.core.services.connections.read import (
    consecutive_failures,
    degraded_threshold,
    get_connection,
    list_connections,
    to_public,
)
from plantsync.core.services.connections.secrets import (
    decrypt_auth_config,
    scrub_text,
    secret_values,
    validate_auth_config,
)
from plantsync.core.services.connections.write import (
    FieldConflictError,
    create_connection,
    delete_connection,
    update_connection,
)

__all__ = [
    "FieldConflictError",
    "consecutive_failures",
    "create_connection",
    "decrypt_auth_config",
    "degraded_threshold",
    "delete_connection",
    "get_connection",
    "list_connections",
    "scrub_text",
    "secret_values",
    "test_connection",
    "to_public",
    "update_connection",
    "validate_auth_config",
]
