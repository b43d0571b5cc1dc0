"""SAP S/4HANA over OData V2 (SAP Gateway): ``SapConnector`` and its wire protocol."""
