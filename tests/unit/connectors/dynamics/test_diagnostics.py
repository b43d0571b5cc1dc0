"""``test()``: one actionable message per failure, always with latency_ms."""

from __future__ import annotations

import httpx
import pytest
import respx

from plantsync.connectors.dynamics.connector import DynamicsConnector
from tests.unit.connectors.dynamics.conftest import LOGIN, ROOT, SECRET, make_connector

WHO = {"UserId": "u", "BusinessUnitId": "b", "OrganizationId": "o"}
TABLES = (
    "msdyn_customerassets",
    "msdyn_workorders",
    "plnt_downtimeevents",
    "plnt_productionrecords",
)


def tables_ok(router: respx.Router, *, missing: tuple[str, ...] = ()) -> None:
    for table in TABLES:
        route = router.get(url__startswith=f"{ROOT}{table}")
        if table in missing:
            route.respond(404, json={"error": {"code": "0x8006088a",
                                              "message": f"Resource not found for the segment '{table}'."}})  # fmt: skip
        else:
            route.respond(json={"value": []})


def test_success_names_the_tables(router: respx.Router, connector: DynamicsConnector) -> None:
    router.get(f"{ROOT}WhoAmI").respond(json=WHO)
    tables_ok(router)
    result = connector.test()
    assert result.success, result.message
    assert result.message == f"Successfully connected to Dynamics 365 ({', '.join(TABLES)})"
    assert result.latency_ms >= 0


def test_missing_field_service_table_is_named(
    router: respx.Router, connector: DynamicsConnector
) -> None:
    router.get(f"{ROOT}WhoAmI").respond(json=WHO)
    tables_ok(router, missing=("msdyn_customerassets",))
    result = connector.test()
    assert not result.success
    assert "msdyn_customerassets" in result.message and "Field Service" in result.message
    assert "msdyn_workorders" not in result.message


def test_invalid_client_secret(router: respx.Router, connector: DynamicsConnector) -> None:
    router.post(f"{LOGIN}/oauth2/v2.0/token").respond(
        401,
        json={"error": "invalid_client", "error_codes": [7000215],
              "error_description": "AADSTS7000215: Invalid client secret provided."},
    )  # fmt: skip
    result = connector.test()
    assert not result.success
    assert "AADSTS7000215" in result.message and "client_secret" in result.message
    assert SECRET not in result.message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "refused the access token"),
        (403, "lacks a privilege"),
        (404, f"tried {ROOT}WhoAmI"),
    ],
)
def test_http_failures_of_the_service_root(
    router: respx.Router, connector: DynamicsConnector, status: int, expected: str
) -> None:
    router.get(f"{ROOT}WhoAmI").respond(
        status, json={"error": {"code": "0x80040220", "message": "Principal user is missing"}}
    )
    result = connector.test()
    assert not result.success
    assert expected in result.message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS lookup of contoso"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "refused"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                            "unable to get local issuer certificate"), "CA bundle"),
        (httpx.ReadTimeout("timed out"), "did not answer in time"),
    ],
)  # fmt: skip
def test_transport_failures(
    router: respx.Router, connector: DynamicsConnector, error: Exception, expected: str
) -> None:
    router.get(f"{ROOT}WhoAmI").mock(side_effect=error)
    result = connector.test()
    assert not result.success
    assert expected in result.message
    assert isinstance(result.latency_ms, int)


def test_unreachable_identity_provider(router: respx.Router) -> None:
    router.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").mock(
        side_effect=httpx.ConnectError("[Errno -2] Name or service not known")
    )
    connector, _ = make_connector()
    with connector:
        result = connector.test()
    assert not result.success
    assert "login.microsoftonline.com" in result.message
