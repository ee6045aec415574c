"""Runtime settings: where LeptoGuide keeps its local state (indexes, documents, conversations)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "LEPTOGUIDE_HOME"


def home_dir() -> Path:
    """The state directory: ``$LEPTOGUIDE_HOME``, default ``~/.local/share/leptoguide`` (created)."""
    override = os.environ.get(ENV_HOME)
    path = Path(override) if override else Path.home() / ".local" / "share" / "leptoguide"
    path.mkdir(parents=True, exist_ok=True)
    return path
