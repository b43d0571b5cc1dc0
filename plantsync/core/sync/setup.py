"""What one run (or one connection test) is built from, prepared once from the stored connection.

``prepare_run`` decrypts the connection's credentials once and builds its effective mapping
once; the connector's config (credentials, TLS trust, the mapping's resources), the mapping the
run converts records with, and the secret values scrubbed from every message of the run all
come from that one decryption and that one mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plantsync.connectors.base import ConnectorConfig, Resource
from plantsync.connectors.http import TLSConfig
from plantsync.core.config import Settings
from plantsync.core.models.integration import Connection
from plantsync.core.services.connections.secrets import decrypt_auth_config, secret_values
from plantsync.core.sync import connector_class
from plantsync.entities import Direction, EntityType
from plantsync.mappings.engine import apply_overrides
from plantsync.mappings.overrides import effective_resources
from plantsync.mappings.schema import ProviderMapping, load_default_mapping


@dataclass(frozen=True)
class PreparedRun:
    """A run's mapping, its connector's config and the secrets to keep out of its messages."""

    mapping: ProviderMapping
    config: ConnectorConfig
    secrets: list[str]


def effective_mapping(connection: Connection) -> ProviderMapping:
    """The provider's default mapping with the connection's ``field_mappings`` applied.

    Raises:
        MappingError: the default file or an override is broken.
    """
    return apply_overrides(load_default_mapping(connection.provider), connection.field_mappings)


def prepare_run(connection: Connection, settings: Settings) -> PreparedRun:
    """The mapping, connector config and secrets of a run of ``connection``.

    Raises:
        MappingError: the default mapping file or an override is broken.
        ValidationError: the stored credentials no longer fit the provider's ``auth_model``.
    """
    mapping = effective_mapping(connection)
    auth = decrypt_auth_config(connection, settings)
    return PreparedRun(
        mapping=mapping,
        config=connector_config(connection, auth=auth, resources=mapping.resources()),
        secrets=secret_values(auth),
    )


def connector_config(
    connection: Connection,
    *,
    auth: Mapping[str, Any],
    resources: Mapping[EntityType, Mapping[Direction, Resource]] | None = None,
) -> ConnectorConfig:
    """What a connector is built from: the decrypted ``auth`` (validated by the provider's
    ``auth_model``), TLS trust, and ``resources`` (default: the effective mapping's, or none
    for a provider without a default mapping file)."""
    auth_model = connector_class(connection.provider).auth_model
    if resources is None:
        resources = effective_resources(connection.provider, connection.field_mappings)
    return ConnectorConfig(
        provider=connection.provider,
        base_url=connection.base_url,
        auth=auth_model.model_validate(dict(auth)),
        resources=resources,
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        tls=TLSConfig(ca_bundle_pem=connection.tls_ca_bundle_pem, verify=connection.tls_verify),
    )
