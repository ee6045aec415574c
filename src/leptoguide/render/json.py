"""The JSON contract (docs/assessment.schema.json). Deterministic bytes for the same input."""

from __future__ import annotations

import orjson

from leptoguide.assessment import Assessment


def render_json(data: Assessment) -> str:
    return orjson.dumps(data.model_dump(), option=orjson.OPT_INDENT_2).decode() + "\n"
