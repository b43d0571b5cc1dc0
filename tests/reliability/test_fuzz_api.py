"""API fuzzing: schemathesis drives every operation of the app's own OpenAPI document,
authenticated as an admin of a tenant filled with the demo plant. Every answer must be free of
5xx and match the documented response schema. Examples per operation:
``PLANTSYNC_FUZZ_EXAMPLES`` (a few in ``make test``, many in ``make fuzz``).

The operations are walked in one test (schemathesis' lazy pytest loader does not run on this
pytest): each gets its own hypothesis run and every failure is collected, so one report lists
every operation that broke.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.reliability.conftest import FUZZ_EXAMPLES, FuzzTarget

CHECKS = [not_a_server_error, response_schema_conformance]


def _fuzz_operation(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _describe(exc: BaseException) -> str:
    parts = [str(exc)]
    if isinstance(exc, BaseExceptionGroup):
        parts += [str(sub)[:1200] for sub in exc.exceptions]
    return "\n".join(parts)


def test_every_operation_answers_without_5xx_and_matches_its_schema(
    fuzz_target: FuzzTarget,
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_target.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzz_operation(operation, fuzz_target.headers)
        except (Exception, BaseExceptionGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.method.upper()} {operation.path}: {_describe(exc)}")
    assert operations > 50, f"only {operations} operations in the OpenAPI document"
    assert not failures, "\n\n".join(failures)
