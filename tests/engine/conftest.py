"""Engine test fixtures: a full KB directory with test terminology (for CLI runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leptoguide.knowledge.loader import default_data_dir, load_knowledge

SCENARIOS = Path(__file__).parents[1] / "scenarios"


@pytest.fixture(scope="session")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shipped data plus the scenario terminology when the shipped KB has no concepts yet."""
    root = tmp_path_factory.mktemp("kbfull") / "kb"
    shutil.copytree(default_data_dir(), root)
    if not load_knowledge(root, check_readability=False).concepts:
        (root / "terminology").mkdir(exist_ok=True)
        shutil.copy(
            SCENARIOS / "terminology" / "concepts.yaml", root / "terminology" / "zz-test.yaml"
        )
    return root
