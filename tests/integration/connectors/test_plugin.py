"""A connector plug-in installed as a real package appears in ``plantsync connectors list``.

The package in ``tests/fixtures/plantsync-demo-connector`` is pip-installed (off-line, no
dependencies) into a temporary directory, which a fresh interpreter gets on its PYTHONPATH:
the provider is found through its entry point alone, as for any third-party package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[2] / "fixtures" / "plantsync-demo-connector"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy: pip builds in-tree and would leave build files in the repository.
    source = tmp_path_factory.mktemp("src") / "plantsync-demo-connector"
    shutil.copytree(FIXTURE, source)
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def run_plantsync(*args: str, site: Path | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # a wide table: one line per provider
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "plantsync", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_installed_plugin_is_listed(plugin_site: Path) -> None:
    result = run_plantsync("connectors", "list", "--json", site=plugin_site)
    providers = {p["provider"]: p for p in json.loads(result.stdout)}
    assert {"demo", "sap", "dynamics", "oracle"} <= set(providers)
    demo = providers["demo"]
    assert demo["display_name"] == "Demo REST ERP"
    assert {(e["entity"], e["direction"]) for e in demo["entities"]} == {
        ("machine", "inbound"),
        ("downtime", "outbound"),
    }
    assert demo["auth_fields"] == [
        {"name": "api_key", "type": "secret", "required": True, "secret": True}
    ]
    assert result.returncode == 0, result.stderr


def test_plugin_is_not_there_without_the_package() -> None:
    result = run_plantsync("connectors", "list", "--json", site=None)
    assert "demo" not in {p["provider"] for p in json.loads(result.stdout)}


def test_table_output_names_the_plugin(plugin_site: Path) -> None:
    result = run_plantsync("connectors", "list", site=plugin_site)
    assert "Demo REST ERP" in result.stdout
    assert "api_key* (secret)" in result.stdout
