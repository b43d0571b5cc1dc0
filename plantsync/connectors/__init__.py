"""ERP connectors: one interface (``base.Connector``), one subpackage per ERP, a registry."""
