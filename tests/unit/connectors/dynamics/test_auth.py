"""OAuth2 client credentials through msal: caching, renewal, off-line authorities, errors."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import ValidationError

from plantsync.connectors.dynamics.auth import DynamicsAuthConfig
from plantsync.errors import ERPAuthenticationError, ERPConfigurationError
from tests.unit.connectors.dynamics.conftest import (
    AUTH,
    LOGIN,
    ROOT,
    SECRET,
    make_connector,
    mock_login,
)

WHO = {"UserId": "u", "BusinessUnitId": "b", "OrganizationId": "o"}


def test_token_is_requested_once_and_sent_as_bearer(router: respx.Router) -> None:
    token = mock_login(router)
    who = router.get(f"{ROOT}WhoAmI").respond(json=WHO)
    connector, _ = make_connector()
    with connector:
        connector.dataverse.get(f"{ROOT}WhoAmI")
        connector.dataverse.get(f"{ROOT}WhoAmI")
    assert token.call_count == 1
    assert who.calls[1].request.headers["Authorization"] == "Bearer tok-1"
    form = dict(httpx.QueryParams(token.calls[0].request.content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://contoso.crm4.dynamics.com/.default"
    assert form["client_secret"] == SECRET


def test_token_is_renewed_before_it_expires(router: respx.Router) -> None:
    # A token with less than five minutes left counts as expired: the next call renews it.
    token = mock_login(router, expires_in=120)
    router.get(f"{ROOT}WhoAmI").respond(json=WHO)
    connector, _ = make_connector()
    with connector:
        connector.dataverse.get(f"{ROOT}WhoAmI")
        connector.dataverse.get(f"{ROOT}WhoAmI")
    assert token.call_count == 2


def test_a_401_gets_one_retry_with_a_fresh_token(router: respx.Router) -> None:
    token = router.post(f"{LOGIN}/oauth2/v2.0/token")
    mock_login(router)
    token.side_effect = [
        httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": t})
        for t in ("old", "new")
    ]
    who = router.get(f"{ROOT}WhoAmI")
    who.side_effect = [httpx.Response(401), httpx.Response(200, json=WHO)]
    connector, _ = make_connector()
    with connector:
        connector.dataverse.get(f"{ROOT}WhoAmI")
    assert [c.request.headers["Authorization"] for c in who.calls] == ["Bearer old", "Bearer new"]


def test_custom_authority_needs_no_instance_discovery(router: respx.Router) -> None:
    # respx refuses any request not mocked: msal must not call login.microsoftonline.com.
    authority = "https://sts.plant.local:8443/tenant-x"
    token = mock_login(router, base=authority, token="local")
    who = router.get(f"{ROOT}WhoAmI").respond(json=WHO)
    connector, _ = make_connector(auth={**AUTH, "authority": authority})
    with connector:
        connector.dataverse.get(f"{ROOT}WhoAmI")
    assert token.called
    assert who.calls[0].request.headers["Authorization"] == "Bearer local"


def test_token_requests_ignore_requests_ca_bundle(
    router: respx.Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    # msal talks through our httpx client, never a requests session that would read this.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    token = mock_login(router)
    router.get(f"{ROOT}WhoAmI").respond(json=WHO)
    connector, _ = make_connector()
    with connector:
        connector.dataverse.get(f"{ROOT}WhoAmI")
    assert token.called


def _aad(status: int, error: str, code: int, text: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: abc Correlation ID: def",
            "error_codes": [code],
        },
    )


@pytest.mark.parametrize(
    ("response", "kind", "expected"),
    [
        (_aad(401, "invalid_client", 7000215, "Invalid client secret provided."),
         ERPAuthenticationError, "client_secret"),
        (_aad(400, "unauthorized_client", 700016, "Application not found."),
         ERPAuthenticationError, "client_id app-1"),
        (_aad(400, "invalid_scope", 500011, "The resource principal was not found."),
         ERPConfigurationError, "check base_url"),
    ],
)  # fmt: skip
def test_token_errors_name_what_to_fix_without_the_secret(
    router: respx.Router, response: httpx.Response, kind: type[Exception], expected: str
) -> None:
    mock_login(router)
    router.post(f"{LOGIN}/oauth2/v2.0/token").mock(return_value=response)
    connector, _ = make_connector()
    with connector, pytest.raises(kind) as info:
        connector.auth.token()
    message = str(info.value)
    assert expected in message
    assert "AADSTS" in message
    assert SECRET not in message
    assert "Trace ID" not in message


def test_unreachable_authority_is_a_configuration_error(router: respx.Router) -> None:
    router.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(404, text="nope")
    connector, _ = make_connector()
    with connector, pytest.raises(ERPConfigurationError, match="authority"):
        connector.auth.token()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"authority": "http://login.example.com/t"}, "authority"),
        ({"authority": "https://login.example.com"}, "authority"),
        ({"tenant_id": "common"}, "tenant_id"),
        ({"client_secret": ""}, "client_secret"),
    ],
)
def test_auth_config_is_validated(changes: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        DynamicsAuthConfig.model_validate({**AUTH, **changes})
    assert field in str(info.value)


def test_secret_is_not_in_the_config_repr() -> None:
    config = DynamicsAuthConfig.model_validate(AUTH)
    assert SECRET not in repr(config)
    assert config.authority_url() == LOGIN
