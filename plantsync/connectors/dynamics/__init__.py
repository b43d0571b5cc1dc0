"""Microsoft Dynamics 365 / Dataverse Web API v9.2 connector.

- ``auth``: the connection's credentials (``DynamicsAuthConfig``) and OAuth2 client credentials
  through msal, as an ``httpx.Auth`` (``DataverseAuth``).
- ``client``: the Dataverse wire protocol (headers, ``Prefer``, error classification, values).
- ``batch``: ``$batch`` multipart requests and responses.
- ``connector``: ``DynamicsConnector`` (entities, paging, change tracking, idempotent writes).
"""
