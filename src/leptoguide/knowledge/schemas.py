"""Generate the published JSON Schemas from the record models.

``python -m leptoguide.knowledge.schemas`` rewrites ``knowledge/schemas/*.json``; a test checks that
the shipped files match the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leptoguide.knowledge.models import RECORD_TYPES

SCHEMA_DIR = Path(__file__).parent / "schemas"


def build_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for key, model in RECORD_TYPES.items():
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://leptoguide.org/schemas/{key}.schema.json"
        out[key] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, schema in build_schemas().items():
        path = directory / f"{key}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_schemas():
        print(p)
