"""Fixtures: a small knowledge base (fixture concepts + the shipped unit groups)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leptoguide.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("intake-kb")
    shutil.copytree(FIXTURES / "kb", root, dirs_exist_ok=True)
    shutil.copy(default_data_dir() / "terminology" / "units.yaml", root / "terminology")
    return load_knowledge(root, check_readability=False)
