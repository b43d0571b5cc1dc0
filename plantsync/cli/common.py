"""What every CLI command shares: settings and database, output (``--json`` or tables), errors.

Commands call the same service functions as the API, directly on the database. stdout carries
only data; messages and progress go to stderr. Exit codes: 0 ok, 1 failed, 2 bad usage/input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from plantsync.core.config import Settings, get_settings
from plantsync.core.db import Database, get_database

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

EXIT_FAILED = 1
EXIT_USAGE = 2


def settings() -> Settings:
    return get_settings()


def database() -> Database:
    return get_database(get_settings())


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    stdout.print(table)


def fail(message: str, *, code: int = EXIT_FAILED) -> NoReturn:
    stderr.print(f"[red]Error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)
