"""Microsoft Dynamics 365 / Dataverse Web API v9.2 connector.

- ``auth``: the connection's credentials (``DynamicsAuthConfig``) and OAuth2 client credentials
  through msal, as an ``httpx.Auth`` (``DataverseAuth``).
- ``codec``: values to and from Web API JSON, keys, ``$filter`` literals, our row GUIDs.
- ``client``: the wire protocol (headers, ``Prefer``, error classification) and
  ``DataverseClient``, which sends requests with retries.
- ``batch``: ``$batch`` multipart requests and responses.
- ``writer``: ``DataverseWriter``, idempotent upserts and creates in ``$batch`` chunks.
- ``connector``: ``DynamicsConnector`` (entities, paging, change tracking, ``find``).
"""
