"""The JSON contract (docs/assessment.schema.json). Deterministic bytes for the same input."""

from __future__ import annotations

from typing import Any

import orjson


def render_json(data: dict[str, Any]) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
