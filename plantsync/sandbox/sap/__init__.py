"""The SAP sandbox: SAP Gateway OData V2 services built from the real S/4HANA metadata."""
