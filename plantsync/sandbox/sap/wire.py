"""The Gateway's wire format for the SAP sandbox: OData V2 JSON rows with their ``__metadata``,
error bodies and the ``sap-message`` header, key predicates, and ``$batch`` parts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from plantsync.connectors import multipart
from plantsync.connectors.sap.values import format_json_value
from plantsync.sandbox.sap.query import (
    _literal,
    _tokens,
)
from plantsync.sandbox.sap.schema import SapError, Table


def json_response(status: int, payload: Any) -> Response:
    return Response(
        json.dumps(payload), status_code=status, media_type="application/json; charset=utf-8"
    )


def error_body(exc: SapError) -> dict[str, Any]:
    return {
        "error": {
            "code": exc.code,
            "message": {"lang": "en", "value": exc.message},
            "innererror": {
                "errordetails": [
                    {"code": exc.code, "message": exc.message, "severity": "error", "target": ""}
                ]
            },
        }
    }


def sap_message(exc: SapError) -> dict[str, str]:
    header = {"code": exc.code, "message": exc.message, "severity": "error", "details": []}
    return {"sap-message": json.dumps(header)}


def error_response(exc: SapError) -> Response:
    response = json_response(exc.status, error_body(exc))
    response.headers.update(sap_message(exc))
    return response


def read_body(raw: bytes) -> Any:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise SapError(400, "The request body is not valid JSON", "/IWBEP/CM_MGW_RT/003") from None
    return (
        data.get("d", data) if isinstance(data, dict) and isinstance(data.get("d"), dict) else data
    )


def row_json(
    table: Table, row: Mapping[str, Any], base: str, select: list[str] | None = None
) -> dict[str, Any]:
    uri = base + entity_path(table, row)
    out: dict[str, Any] = {"__metadata": {"id": uri, "uri": uri, "type": table.es.type_name}}
    props = table.es.properties
    names = [n for n in props if n in select] if select else props
    out.update(dict.fromkeys(names))  # every property, in the entity type's order ...
    for name, value in row.items():  # ... then the few a stored row has values for
        if value is not None and name in props and (not select or name in select):
            out[name] = format_json_value(props[name].edm_type, value)
    return out


def entity_path(table: Table, row: Mapping[str, Any]) -> str:
    from plantsync.connectors.sap.values import filter_literal

    parts = [
        f"{k}={filter_literal(table.es.properties[k].edm_type, row.get(k))}" for k in table.es.key
    ]
    if len(parts) == 1:
        return f"{table.es.name}({parts[0].split('=', 1)[1]})"
    return f"{table.es.name}({','.join(parts)})"


_KEY_PART = re.compile(r"(?:([A-Za-z_]\w*)=)?((?:[a-z]+)?'(?:[^']|'')*'|[^,]+)")


def parse_key(table: Table, text: str) -> tuple[Any, ...]:
    values: dict[str, Any] = {}
    for name, literal in _KEY_PART.findall(text):
        tokens = _tokens(literal.strip())
        if len(tokens) != 1:
            break
        field = name or (table.es.key[0] if len(table.es.key) == 1 else "")
        values[field] = _literal(*tokens[0])
    if set(values) != set(table.es.key):
        raise SapError(
            400, f"Invalid key predicate ({text}) for {table.es.name}", "/IWBEP/CM_MGW_RT/011"
        )
    return tuple(values[k] for k in table.es.key)


def http_request(payload: bytes) -> multipart.Request:
    try:
        return multipart.parse_request(payload)
    except multipart.MultipartError as exc:
        raise SapError(400, f"Invalid request line in $batch: {exc}") from None


def http_part(status: int, headers: Mapping[str, str], data: Any) -> multipart.Part:
    if data is None:
        body = b""
    elif isinstance(data, str):
        body = data.encode()
    else:
        body = json.dumps(data).encode()
    head = {"Content-Type": "application/json", "Content-Length": str(len(body))} if body else {}
    return multipart.http_response(multipart.Response(status, {**head, **headers}, body))
