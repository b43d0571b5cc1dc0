"""``test()``: one actionable message per failure, always with latency_ms, never a secret."""

from __future__ import annotations

import httpx
import pytest
import respx

from tests.unit.connectors.oracle.conftest import BASIC, OAUTH, ROOT, make_connector

RESOURCES = (
    "installedBaseAssets",
    "maintenanceWorkOrders",
    "plantDowntimeEvents",
    "plantProductionReports",
    "workOrders",
)
EMPTY = httpx.Response(200, json={"items": [], "hasMore": False, "count": 0})


def run_test(router: respx.Router, auth: dict[str, str] | None = None) -> tuple[bool, int, str]:
    connector, _ = make_connector(auth)
    result = connector.test()
    connector.close()
    assert result.latency_ms >= 0
    for secret in ("pw-basic", "oauth-secret"):
        assert secret not in result.message
    return result.success, result.latency_ms, result.message


def test_success_names_the_resources_and_probes_with_limit_1() -> None:
    with respx.mock() as router:
        routes = [router.get(f"{ROOT}/{r}").mock(return_value=EMPTY) for r in RESOURCES]
        ok, _, message = run_test(router)
    assert ok
    assert message == f"Successfully connected to Oracle ({', '.join(RESOURCES)})"
    params = routes[0].calls[0].request.url.params
    assert params["limit"] == "1" and params["onlyData"] == "true"


def test_401_is_about_the_credentials() -> None:
    with respx.mock() as router:
        router.get(url__startswith=ROOT).mock(return_value=httpx.Response(401))
        ok, _, message = run_test(router)
    assert (
        not ok and "401" in message and "'integ'" in message and "username and password" in message
    )


def test_403_is_about_authorisation() -> None:
    with respx.mock() as router:
        router.get(url__startswith=ROOT).mock(return_value=httpx.Response(403))
        ok, _, message = run_test(router)
    assert not ok and "403" in message and "privilege" in message
    assert f"{ROOT}/installedBaseAssets" in message


def test_404_everywhere_is_a_wrong_service_path_naming_the_url() -> None:
    with respx.mock() as router:
        router.get(url__startswith=ROOT).mock(return_value=httpx.Response(404))
        ok, _, message = run_test(router)
    assert not ok and f"{ROOT}/installedBaseAssets" in message and "base_url" in message


def test_a_missing_resource_the_mapping_needs_is_named() -> None:
    with respx.mock() as router:
        router.get(f"{ROOT}/plantDowntimeEvents").mock(return_value=httpx.Response(404))
        router.get(url__startswith=ROOT).mock(return_value=EMPTY)
        ok, _, message = run_test(router)
    assert not ok
    assert "plantDowntimeEvents" in message and f"{ROOT}/plantDowntimeEvents" in message
    assert "installedBaseAssets" not in message


def test_token_endpoint_failure() -> None:
    with respx.mock() as router:
        router.post(OAUTH["token_url"]).mock(
            return_value=httpx.Response(401, json={"error": "invalid_client"})
        )
        ok, _, message = run_test(router, OAUTH)
    assert not ok and OAUTH["token_url"] in message and "invalid_client" in message


def test_401_with_a_bearer_token_is_about_the_oauth_client() -> None:
    with respx.mock() as router:
        router.post(OAUTH["token_url"]).mock(
            return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        )
        router.get(url__startswith=ROOT).mock(return_value=httpx.Response(401))
        ok, _, message = run_test(router, OAUTH)
    assert not ok and "bearer token" in message and "scope" in message


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            "DNS lookup of pod.example.com failed",
        ),
        (httpx.ConnectError("[Errno 111] Connection refused"), "refused"),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
            ),
            "CA bundle",
        ),
        (httpx.ConnectTimeout("timed out"), "in time"),
        (httpx.ReadTimeout("timed out"), "in time"),
    ],
)
def test_transport_failures(exc: Exception, words: str) -> None:
    with respx.mock() as router:
        router.get(url__startswith=ROOT).mock(side_effect=exc)
        ok, _, message = run_test(router, BASIC)
    assert not ok and words in message
