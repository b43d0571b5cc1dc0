"""SapAuth: basic credentials and the logon client on every request, never in its repr."""

from __future__ import annotations

import base64

import httpx

from plantsync.connectors.sap.auth import SapAuth, SapAuthConfig


def _sent(auth: SapAuth, url: str) -> httpx.Request:
    flow = auth.auth_flow(httpx.Request("GET", url))
    return next(flow)


def test_basic_credentials_and_sap_client_are_added() -> None:
    auth = SapAuth(SapAuthConfig(username="PLANT", password="s3cret", sap_client="100"))
    request = _sent(auth, "https://gw.example/sap/opu/odata/sap/API_EQUIPMENT/Equipment?$top=1")
    expected = base64.b64encode(b"PLANT:s3cret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.url.params["sap-client"] == "100"
    assert request.url.params["$top"] == "1"


def test_a_url_that_names_its_client_keeps_it() -> None:
    auth = SapAuth(SapAuthConfig(username="PLANT", password="pw", sap_client="100"))
    request = _sent(auth, "https://gw.example/x?sap-client=200&$skiptoken=5")
    assert request.url.params.get_list("sap-client") == ["200"]


def test_without_a_client_no_parameter_and_no_secret_in_repr() -> None:
    auth = SapAuth(SapAuthConfig(username="PLANT", password="pw-never-shown"))
    request = _sent(auth, "https://gw.example/x")
    assert "sap-client" not in request.url.params
    assert "pw-never-shown" not in repr(auth) and "PLANT" not in repr(auth)
