"""SAP S/4HANA over OData V2 (SAP Gateway) connector.

- ``auth``: the connection's credentials (``SapAuthConfig``) as an ``httpx.Auth`` (``SapAuth``:
  basic auth and ``sap-client``).
- ``values``: Edm values to and from OData V2 JSON and ``$filter`` literals.
- ``codec``: rows <-> records of one entity set (driven by its metadata), SAP's error text.
- ``metadata``: ``$metadata`` read with pyodata into the few facts we use.
- ``batch``: ``$batch`` changesets out, responses back.
- ``client``: ``SapClient``, the wire protocol (service URLs, CSRF, paging, retries, errors).
- ``status``: status changes through the mapping's function-import life cycle.
- ``writer``: ``SapWriter``, one changeset per record in ``$batch`` chunks, reconciliation.
- ``connector``: ``SapConnector`` (entities, test, pull, push, find).
"""
