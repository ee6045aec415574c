"""The JSON contract (docs/assessment.schema.json). Deterministic bytes for the same input."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from leptoguide.assessment import Assessment, as_assessment


def render_json(data: Assessment | Mapping[str, object]) -> str:
    data = as_assessment(data)
    return orjson.dumps(data.model_dump(), option=orjson.OPT_INDENT_2).decode() + "\n"
