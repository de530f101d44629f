"""Every setting (its key and its environment variable) appears in docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from duress.config.settings import SETTINGS_REFERENCE

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize("info", SETTINGS_REFERENCE, ids=lambda i: i.key)
def test_setting_is_documented(info: object) -> None:
    text = DOC.read_text(encoding="utf-8")
    key = getattr(info, "key")  # noqa: B009  # parametrize hands an object
    env = getattr(info, "env")  # noqa: B009
    assert f"`{key}`" in text, f"setting {key} is missing from {DOC.name}"
    assert f"`{env}`" in text, f"environment variable {env} is missing from {DOC.name}"


def test_the_complete_example_in_the_docs_loads(tmp_path: Path) -> None:
    from duress.config.loader import load_site

    text = DOC.read_text(encoding="utf-8")
    block = text.split("## A complete small site", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "site.yaml").write_text(block, encoding="utf-8")
    site = load_site(tmp_path / "site.yaml")
    assert site.id == "st-luke"
    assert len(site.devices) == 5
