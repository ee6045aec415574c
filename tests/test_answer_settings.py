"""Answering's tuning numbers are named settings, documented with their values, and checked."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from leptoguide.answer.abstain import CONFIDENCE, AbstainConfig, ConfidenceModel
from leptoguide.answer.settings import SETTINGS, AnswerSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "qa.md"


def _documented() -> dict[str, str]:
    """docs/qa.md "Settings" rows: ``| `Class.name` | value | meaning |``."""
    rows = re.findall(r"^\| `(\w+)\.(\w+)` \| ([^|]+) \|", DOC.read_text(encoding="utf-8"), re.M)
    return {f"{cls}.{name}": value.strip() for cls, name, value in rows}


def _show(value: object) -> str:
    return "on" if value is True else "off" if value is False else str(value)


def test_every_setting_is_documented_with_its_value() -> None:
    documented = _documented()
    objects: list[tuple[str, object]] = [
        ("AnswerSettings", SETTINGS),
        ("AbstainConfig", AbstainConfig()),
        ("ConfidenceModel", CONFIDENCE),
    ]
    for cls, obj in objects:
        for f in fields(obj):  # type: ignore[arg-type]
            key = f"{cls}.{f.name}"
            assert key in documented, f"{key} is not in docs/qa.md Settings"
            assert documented[key] == _show(getattr(obj, f.name)), key
    known = {f"{cls}.{f.name}" for cls, obj in objects for f in fields(obj)}  # type: ignore[arg-type]
    assert set(documented) <= known, set(documented) - known


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (AnswerSettings, "lead_pool", 0),
        (AnswerSettings, "min_relative", 1.5),
        (AnswerSettings, "aspect_weight", -1.0),
        (AbstainConfig, "min_coverage", 1.2),
        (AbstainConfig, "coverage_top", 0),
    ],
)
def test_out_of_range_settings_are_refused_by_name(cls: type, field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        cls(**{field: value})


def test_confidence_is_low_when_the_lead_misses_the_question() -> None:
    good = {"coverage": 1.0, "top_coverage": 1.0, "lead_reviewed": 1.0, "lead_coverage": 1.0}
    poor = {"coverage": 1.0, "top_coverage": 1.0, "lead_reviewed": 0.0, "lead_coverage": 0.0}
    assert 0.0 < CONFIDENCE(poor) < CONFIDENCE(good) <= 1.0
    assert isinstance(CONFIDENCE, ConfidenceModel)
