"""The connectors' sandbox fixture (real ERPs over HTTPS), shared with the connection tests."""

from tests.integration.connectors.conftest import _healthy_sandbox, sandbox

__all__ = ["_healthy_sandbox", "sandbox"]
