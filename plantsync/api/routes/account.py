"""``/api/v1/account``: log in, refresh, log out, and who am I."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from plantsync.api import docs
from plantsync.api.deps import AnyRole, ClockDep, ReadSession, SettingsDep, WriteSession
from plantsync.api.routes import account_examples as ex
from plantsync.core.models.accounts import SECRET_MAX
from plantsync.core.principal import PrincipalKind, Role
from plantsync.core.services import sessions
from plantsync.core.services.sessions import Credentials, TokenPair
from plantsync.core.services.tenants import get_tenant
from plantsync.errors import ValidationError

router = APIRouter(prefix="/api/v1/account", tags=["account"])


class LoginRequest(BaseModel):
    """Either ``email`` + ``password`` (a user) or ``client_id`` + ``client_secret`` (a service)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, max_length=SECRET_MAX)
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(default=None, max_length=SECRET_MAX)

    def credentials(self) -> Credentials:
        """The credentials; a ``ValidationError`` naming the missing or extra fields."""
        user_pair = self.email is not None or self.password is not None
        service_pair = self.client_id is not None or self.client_secret is not None
        if user_pair and service_pair:
            raise ValidationError(
                {"client_id": ["send either email and password, or client_id and client_secret"]}
            )
        if service_pair:
            return Credentials(*self._require("client_id", "client_secret"), is_service=True)
        return Credentials(*self._require("email", "password"), is_service=False)

    def _require(self, first: str, second: str) -> tuple[str, str]:
        values = (getattr(self, first), getattr(self, second))
        missing = {
            name: ["is required"] for name, v in zip((first, second), values, strict=True) if not v
        }
        if missing:
            raise ValidationError(missing)
        return values[0], values[1]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=512)


class Me(BaseModel):
    kind: PrincipalKind
    id: uuid.UUID
    label: str
    role: Role
    tenant_id: uuid.UUID
    tenant_name: str
    machine_ids: list[uuid.UUID] | None


_LOGIN_ERRORS = docs.error(401, "Invalid credentials") | docs.errors(429)
_LOGIN_BODY = docs.body_choices(
    {"user": ("A user", ex.LOGIN_USER), "service": ("A service account", ex.LOGIN_SERVICE)}
)
_REFRESH_BODY = docs.body("The refresh token of the last pair", ex.REFRESH)


@router.post("/login", response_model=TokenPair, responses=docs.answers(ex.TOKENS) | _LOGIN_ERRORS)
def login(
    body: Annotated[LoginRequest, _LOGIN_BODY],
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenPair:
    """Log in; answers an access token and a refresh token. Failures are rate-limited."""
    address = request.client.host if request.client else None
    return sessions.login(
        session=session, credentials=body.credentials(), client_address=address,
        settings=settings, clock=clock,
    )  # fmt: skip


_REFRESH_ERRORS = docs.error(401, "The refresh token is invalid, expired or revoked")


@router.post(
    "/refresh-token", response_model=TokenPair, responses=docs.answers(ex.TOKENS) | _REFRESH_ERRORS
)
def refresh_token(
    body: Annotated[RefreshRequest, _REFRESH_BODY],
    session: WriteSession,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenPair:
    """Exchange a refresh token for a new pair; a token used twice revokes its whole family."""
    return sessions.refresh(
        session=session, refresh_token=body.refresh_token, settings=settings, clock=clock
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(
    body: Annotated[RefreshRequest, _REFRESH_BODY], session: WriteSession, clock: ClockDep
) -> Response:
    """Revoke the refresh token (and the login it belongs to). 204: no body, no content type."""
    sessions.logout(session=session, refresh_token=body.refresh_token, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me, responses=docs.answers(ex.ME))
def me(caller: AnyRole, session: ReadSession) -> Me:
    """The caller: a user, a service account or an API key; its tenant and role."""
    tenant = get_tenant(session=session, tenant_id=caller.tenant_id)
    return Me(
        kind=caller.kind,
        id=caller.subject_id,
        label=caller.label,
        role=caller.role,
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        machine_ids=sorted(caller.machine_ids, key=str) if caller.machine_ids is not None else None,
    )
