"""Oracle Fusion Cloud REST (ADF REST framework): ``client`` speaks the wire protocol,
``connector`` maps entities, paging, bulk writes and reconciliation onto it."""
