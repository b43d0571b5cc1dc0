"""Who is calling: a user, a service account or an API key, inside one tenant, with one role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Roles, weakest first: a role may do everything the roles before it may."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class PrincipalKind(StrEnum):
    user = "user"
    service_account = "service_account"
    api_key = "api_key"
    system = "system"  # the CLI acting on the database directly, or the scheduler


@dataclass(frozen=True)
class Principal:
    """The authenticated caller.

    ``machine_ids`` is set only for API keys limited to named machines; ``None`` means all.
    ``subject_id`` is the user, service account or API key id; ``label`` is what the audit log
    and change origins show (an email, a client id, an API key's name).
    """

    kind: PrincipalKind
    subject_id: uuid.UUID
    tenant_id: uuid.UUID
    role: Role
    label: str
    machine_ids: frozenset[uuid.UUID] | None = None

    @classmethod
    def system(cls, tenant_id: uuid.UUID, label: str = "cli") -> Principal:
        """The local admin: CLI commands run with the database's full trust."""
        return cls(
            kind=PrincipalKind.system,
            subject_id=uuid.UUID(int=0),
            tenant_id=tenant_id,
            role=Role.admin,
            label=label,
        )

    def can_touch_machine(self, machine_id: uuid.UUID) -> bool:
        return self.machine_ids is None or machine_id in self.machine_ids
