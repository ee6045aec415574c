"""Read a LeptoGuide case file (YAML or JSON hand-entry format) into a Case."""

from __future__ import annotations

from typing import Any

from leptoguide.case import Case
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase


def read_casefile(doc: dict[str, Any], *, name: str, kb: KnowledgeBase) -> Case:
    raise InputError(name, "case files are not supported yet")
