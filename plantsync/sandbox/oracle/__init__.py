"""The Oracle sandbox: an Oracle Fusion Cloud REST (ADF REST framework) server."""
