"""OAuth2ClientCredentials: fetched on first use, cached, renewed before expiry, refetched once
on a 401, token endpoint errors typed and free of the secret."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from plantsync.connectors.auth import OAuth2ClientCredentials
from plantsync.errors import ERPAuthenticationError, ThrottledError, UnavailableError

TOKEN_URL = "https://idcs.example.com/oauth2/v1/token"
API = "https://erp.example.com/api/things"
SECRET = "s3cr3t-value"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_auth(clock: Clock, **kw: object) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        token_url=TOKEN_URL,
        client_id="cid",
        client_secret=SECRET,
        scope="urn:opc:resource:consumer::all",
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


def token_route(router: respx.Router, *tokens: str, expires_in: int = 3600) -> respx.Route:
    return router.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(
                200, json={"access_token": t, "token_type": "Bearer", "expires_in": expires_in}
            )
            for t in tokens
        ]
    )


def test_token_fetched_on_first_use_and_cached() -> None:
    clock = Clock()
    with respx.mock(assert_all_called=True) as router:
        tokens = token_route(router, "t1")
        api = router.get(API).mock(return_value=httpx.Response(200, json={}))
        with httpx.Client(auth=make_auth(clock)) as client:
            client.get(API)
            client.get(API)
    assert tokens.call_count == 1
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer t1", "Bearer t1"]
    token_request = tokens.calls[0].request
    form = parse_qs(token_request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["urn:opc:resource:consumer::all"],
    }
    expected = "Basic " + base64.b64encode(f"cid:{SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == expected


def test_client_secret_post_sends_credentials_in_the_form() -> None:
    clock = Clock()
    with respx.mock() as router:
        tokens = token_route(router, "t1")
        router.get(API).mock(return_value=httpx.Response(200))
        with httpx.Client(auth=make_auth(clock, client_auth="post")) as client:
            client.get(API)
    request = tokens.calls[0].request
    assert "Authorization" not in request.headers
    form = parse_qs(request.content.decode())
    assert form["client_id"] == ["cid"] and form["client_secret"] == [SECRET]


def test_token_renewed_before_expiry() -> None:
    clock = Clock()
    with respx.mock() as router:
        tokens = token_route(router, "t1", "t2", expires_in=600)
        api = router.get(API).mock(return_value=httpx.Response(200))
        with httpx.Client(auth=make_auth(clock, leeway_s=60)) as client:
            client.get(API)
            clock.now += 500  # still 100 s left: more than the leeway
            client.get(API)
            clock.now += 50  # 50 s left: inside the leeway, renew
            client.get(API)
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer t1",
        "Bearer t1",
        "Bearer t2",
    ]


def test_401_refetches_the_token_once_and_resends() -> None:
    clock = Clock()
    with respx.mock() as router:
        tokens = token_route(router, "revoked", "fresh")
        api = router.get(API).mock(
            side_effect=[httpx.Response(401), httpx.Response(200, json={"ok": 1})]
        )
        with httpx.Client(auth=make_auth(clock)) as client:
            response = client.get(API)
    assert response.status_code == 200
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer revoked",
        "Bearer fresh",
    ]


def test_a_second_401_is_returned_not_looped() -> None:
    clock = Clock()
    with respx.mock() as router:
        tokens = token_route(router, "a", "b")
        router.get(API).mock(return_value=httpx.Response(401))
        with httpx.Client(auth=make_auth(clock)) as client:
            assert client.get(API).status_code == 401
    assert tokens.call_count == 2


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (
            401,
            {"error": "invalid_client", "error_description": "Client authentication failed."},
            ERPAuthenticationError,
            "invalid_client",
        ),
        (400, {"error": "invalid_scope"}, ERPAuthenticationError, "invalid_scope"),
        (404, None, ERPAuthenticationError, "no token endpoint"),
        (503, None, UnavailableError, "unavailable"),
        (429, None, ThrottledError, "throttling"),
    ],
)
def test_token_errors_are_typed_and_never_leak_the_secret(
    status: int, body: dict[str, str] | None, error: type[Exception], words: str
) -> None:
    clock = Clock()
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).mock(return_value=httpx.Response(status, json=body))
        api = router.get(API).mock(return_value=httpx.Response(200))
        with httpx.Client(auth=make_auth(clock)) as client, pytest.raises(error) as info:
            client.get(API)
    assert words in str(info.value)
    assert TOKEN_URL in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert not api.called


def test_answer_without_access_token_is_an_authentication_error() -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"token_type": "Bearer"}))
        with httpx.Client(auth=make_auth(Clock())) as client, pytest.raises(ERPAuthenticationError):
            client.get(API)


def test_repr_hides_the_secret() -> None:
    assert SECRET not in repr(make_auth(Clock()))
