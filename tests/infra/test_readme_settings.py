"""The README's settings table lists exactly the settings `app_settings` catalogues, with the same defaults."""

from __future__ import annotations

import re
from pathlib import Path

from app_settings import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<name>[A-Za-z_]+)` \| [^|]* \| (?P<default>[^|]*) \|")


def settings_rows() -> dict[str, str]:
    """Setting name → default as the README's `## Settings` section writes them (backticks removed)."""
    section = README.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = (ROW.match(line) for line in section.splitlines())
    return {row["name"]: row["default"].strip().strip("`") for row in rows if row}


def test_the_readme_settings_table_lists_every_catalogued_setting_with_its_default() -> None:
    assert settings_rows() == {setting.name: setting.default or "" for setting in SETTINGS}
