"""JSON responses that cannot be read as HTML: ``<``, ``>`` and ``&`` leave as ``\\u003c``-style
escapes.

Text in the answers comes partly from ingested documents (HTML, Markdown, PDF), so a passage may
hold ``<script>`` or an ``onerror=`` attribute. JSON parsers turn the escapes back into the same
characters, so no value changes; but the body holds no markup a browser could sniff or a page
could embed verbatim. Serialised by orjson (also faster than the standard library).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse

_ESCAPES = ((b"&", b"\\u0026"), (b"<", b"\\u003c"), (b">", b"\\u003e"))


def html_safe_json(content: Any) -> bytes:
    """orjson bytes with ``& < >`` escaped (they only ever occur inside JSON strings).

    Values orjson cannot write (integers beyond 64 bits, echoed back from a request) go through
    the standard library instead, with the same escaping."""
    try:
        body = orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=str)
    except (orjson.JSONEncodeError, TypeError):
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode(
            "utf-8"
        )
    for raw, escaped in _ESCAPES:
        body = body.replace(raw, escaped)
    return body


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return html_safe_json(content)
