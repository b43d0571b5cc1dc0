"""Request and response examples of the account, users, service-account, API-key and audit
routers in ``/docs``.

Secrets appear only where the API really answers them, once: the client secret of a new
service account and the key of a new API key. Their values are plainly examples.
"""

from __future__ import annotations

TENANT_ID = "a7c9e1f3-5b2d-4e6f-8a0b-1c3d5e7f9a2b"
USER_ID = "3f1e5d7c-9b2a-4c6e-8d0f-2a4b6c8e0f13"
ADMIN_ID = "6b8d0f2a-4c6e-4a8b-9c1d-3e5f7a9b1c24"
SERVICE_ID = "9d1f3b5d-7f9b-4d2f-8b4d-6f8b0d2f4b35"
KEY_ID = "2c4e6a8c-0e2a-4c6e-9a2c-4e6a8c0e2a46"
MACHINE_ID = "8e4f2a6b-3c1d-4f5e-8a9b-7c6d5e4f3a21"
T0 = "2026-03-02T06:00:00Z"
T1 = "2026-03-02T07:15:00Z"
CLIENT_ID = "psc_4f0c2a9e8b7d4c1fa6e35b2d9c8a7f10"

LOGIN_USER = {"email": "ana.costa@example.com", "password": "example-password"}
LOGIN_SERVICE = {"client_id": CLIENT_ID, "client_secret": "pss_example-secret"}
REFRESH = {"refresh_token": "psr_example-refresh-token"}

TOKENS = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.example-payload.example-signature",
    "refresh_token": "psr_example-refresh-token-2",
    "token_type": "bearer",
    "expires_in": 900,
}

ME = {
    "kind": "user", "id": USER_ID, "label": "ana.costa@example.com", "role": "operator",
    "tenant_id": TENANT_ID, "tenant_name": "acme-hamburg", "machine_ids": None,
}  # fmt: skip

USER = {
    "id": USER_ID, "tenant_id": TENANT_ID, "email": "ana.costa@example.com", "role": "operator",
    "is_active": True, "created_at": T0, "updated_at": T0,
}  # fmt: skip
USER_IN = {"email": "ana.costa@example.com", "password": "example-password", "role": "operator"}
USER_UPDATE = {"role": "viewer", "is_active": True}

SERVICE = {
    "id": SERVICE_ID, "tenant_id": TENANT_ID, "name": "MES line 1", "client_id": CLIENT_ID,
    "role": "operator", "is_active": True, "created_at": T0,
}  # fmt: skip
SERVICE_CREATED = SERVICE | {"client_secret": "pss_example-secret-shown-once"}
SERVICE_IN = {"name": "MES line 1", "role": "operator"}

API_KEY = {
    "id": KEY_ID, "tenant_id": TENANT_ID, "service_account_id": SERVICE_ID,
    "name": "Andon panel line 1", "key_prefix": "psk_Qm3x8Zt1", "role": "operator",
    "machine_ids": [MACHINE_ID], "created_at": T0, "expires_at": None, "revoked_at": None,
}  # fmt: skip
API_KEY_CREATED = API_KEY | {"key": "psk_Qm3x8Zt1-example-key-shown-once"}
API_KEY_REVOKED = API_KEY | {"revoked_at": T1}
API_KEY_IN = {
    "service_account_id": SERVICE_ID, "name": "Andon panel line 1", "role": "operator",
    "machine_ids": [MACHINE_ID],
}  # fmt: skip

AUDIT = {
    "id": "4e6a8c0e-2a4c-4e8a-8c0e-2a4c6e8a0c57", "occurred_at": T1, "actor_kind": "user",
    "actor_id": ADMIN_ID, "actor_label": "admin@example.com", "action": "api_key.create",
    "target_type": "api_key", "target_id": KEY_ID,
    "details": {"name": "Andon panel line 1", "service_account": CLIENT_ID, "role": "operator",
                "machine_ids": [MACHINE_ID], "prefix": "psk_Qm3x8Zt1"},
}  # fmt: skip
