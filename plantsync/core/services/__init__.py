"""Service functions: the business rules, shared by the API and the CLI.

Every function takes keyword-only arguments (``session=``, ``tenant_id=``, ``actor=``,
``clock=``...), validates its input, writes the audit log for changes and commits when it writes.
"""
