"""Oracle Fusion Cloud REST (ADF REST framework) connector.

- ``auth``: the connection's credentials (``OracleAuthConfig``): basic, or OAuth2 client
  credentials through an identity domain, as an ``httpx.Auth``.
- ``codec``: values to and from ADF REST JSON, and ``q`` filters.
- ``batch``: ADF batch request bodies and answers.
- ``client``: ``OracleClient``, the wire protocol (URLs, headers, retries, error classification).
- ``writer``: ``OracleWriter``, creates/updates in batches with reconciliation.
- ``connector``: ``OracleConnector`` (entities, paging, bulk writes, ``find``).
"""
