"""The docs keep up with the code: every command, event type, API route and link is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from tests.sites import small_site

from duress.cli import app as cli_app
from duress.config.calibration_section import CALIBRATION_KEYS
from duress.config.loader import DEVICE_KEYS, SECTIONS
from duress.config.location_section import PARAMETER_TYPES
from duress.domain.events import event_types
from duress.service.bootstrap import build_runtime
from duress.testing import FakeClock, MemoryStore
from duress.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def command_paths(command: object, prefix: str = "duress") -> list[str]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        paths = []
        for name, sub in subcommands.items():
            paths += command_paths(sub, f"{prefix} {name}")
        return paths
    return [prefix]


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    paths = command_paths(typer.main.get_command(cli_app))
    assert len(paths) >= 4
    missing = [p for p in paths if f"`{p}" not in text]
    assert not missing, f"add a section for each of these to docs/cli.md: {missing}"


def test_every_site_section_and_device_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [s for s in SECTIONS if f"## `{s}`" not in text]
    assert not missing, f"add a '## `section`' heading to docs/configuration.md for: {missing}"
    keys = [k for k in DEVICE_KEYS + CALIBRATION_KEYS if f"| `{k}` |" not in text]
    assert not keys, f"add a row for these keys to docs/configuration.md: {keys}"


def test_every_event_type_is_documented() -> None:
    text = (DOCS / "events.md").read_text()
    missing = [t for t in event_types() if f"### `{t}`" not in text]
    assert not missing, f"add a '### `type`' section to docs/events.md for: {missing}"


def test_every_api_route_is_documented() -> None:
    app = create_app(build_runtime(small_site(), store=MemoryStore(), clock=FakeClock()))
    text = (DOCS / "api.md").read_text()
    paths = set(app.openapi()["paths"])
    assert "/api/v1/ingest" in paths
    missing = sorted(p for p in paths if f"`{p}`" not in text and f" {p}`" not in text)
    assert not missing, f"document these routes in docs/api.md: {missing}"


MARKDOWN = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (page.parent / target).exists():
            broken.append(target)
    assert not broken, f"{page.name} links to missing files: {broken}"


def test_the_lifecycle_diagram_is_generated_from_the_table() -> None:
    from duress.domain.alert import mermaid, transition_table_markdown

    text = (DOCS / "alerts.md").read_text()
    assert mermaid().rstrip() in text, "regenerate the diagram in docs/alerts.md from mermaid()"
    assert transition_table_markdown().rstrip() in text


def test_every_location_parameter_is_documented() -> None:
    # each is a setting of the site's `location:` section (docs/configuration.md)
    text = (DOCS / "location.md").read_text()
    missing = [name for name in PARAMETER_TYPES if f"| `{name}` |" not in text]
    assert not missing, f"add a row for these to docs/location.md, 'Parameters': {missing}"
