"""Documentation drift: every CLI command is documented, and docs exist for each topic."""

from __future__ import annotations

from pathlib import Path

import typer.main

from leptoguide.cli import app
from leptoguide.cli.reference import walk

ROOT = Path(__file__).parents[1]


def test_every_cli_command_is_in_docs_cli() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    commands = [path for path, _ in walk(typer.main.get_command(app))][1:]
    assert {"leptoguide kb validate", "leptoguide assess"} <= set(commands)
    missing = [c for c in commands if f"`{c}" not in doc]
    assert not missing, f"undocumented commands in docs/cli.md: {missing}"


def test_readme_states_not_a_medical_device_and_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "Not a medical device" in readme
    assert "make run" in readme and "make test" in readme


def test_cli_reference_is_current() -> None:
    from leptoguide.cli.reference import render_reference

    doc = (ROOT / "docs" / "cli.md").read_text()
    assert render_reference() in doc, (
        "docs/cli.md is stale: run python -m leptoguide.cli.reference docs/cli.md"
    )
