"""Scenario fixtures: the shipped knowledge base, and a KB for the reader with terminology.

While the shipped KB has no terminology concepts yet, the reader uses the shipped KB plus the
test-only ``terminology/concepts.yaml`` here; once concepts ship, the shipped KB is used alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leptoguide.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge(check_readability=False)


@pytest.fixture(scope="session")
def reader_kb(kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    if kb.concepts:
        return kb
    root = tmp_path_factory.mktemp("reader-kb") / "kb"
    shutil.copytree(default_data_dir() / "terminology", root / "terminology")
    shutil.copy(default_data_dir() / "knowledge.yaml", root / "knowledge.yaml")
    shutil.copy(
        HERE / "terminology" / "concepts.yaml", root / "terminology" / "scenario-concepts.yaml"
    )
    return load_knowledge(root, check_readability=False)
