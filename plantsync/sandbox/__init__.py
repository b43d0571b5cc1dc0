"""Local fake ERPs (SAP OData V2, Dataverse Web API, Oracle Fusion REST) over HTTPS.

A test double for demos, integration tests and benchmarks: ``plantsync sandbox`` runs it.
The product never imports this package (the CLI imports it lazily).
"""
