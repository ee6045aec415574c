"""Shared helpers for the red-team tests: run the core in-process, render every format, and
look for wording that reads as reassurance."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from typing import Any

import yaml

from leptoguide.assessment import as_assessment
from leptoguide.engine import assess
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase, get_knowledge
from leptoguide.policy import load_policy
from leptoguide.render.html import render_html
from leptoguide.render.json import render_json
from leptoguide.render.text import render_text

AT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)

# Sentences that tell the reader all is well. "never count as safe" is fine; "safe to" is not.
REASSURING = re.compile(
    r"\b(?:safe to|is safe|are safe|looks? safe|no contraindications?|ok(?:ay)? to proceed|"
    r"can proceed|cleared for|no problems?|no issues?|all clear|nothing to (?:worry|flag)|"
    r"(?:is|are|was|were|looks?) normal|within normal limits|normal coagulation|"
    r"adequate platelets|platelets (?:are )?adequate)\b",
    re.IGNORECASE,
)


def kb() -> KnowledgeBase:
    return get_knowledge()


def run(
    doc: dict[str, Any] | str, *, name: str = "case.yaml", audience: str = "clinician"
) -> dict[str, Any]:
    """Case file (dict -> YAML) or text through intake and engine: the JSON-ready assessment."""
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    k = kb()
    case = read_input(text.encode(), name=name, kb=k)
    return assess(case, kb=k, policy=load_policy(k), at=AT, audience=audience).to_dict()


def outputs(data: dict[str, Any]) -> dict[str, str]:
    """JSON, text and HTML (tags stripped, entities decoded) of one assessment."""
    k = kb()
    typed = as_assessment(data)
    page = render_html(typed, k)
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    plain = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    return {"json": render_json(typed), "text": render_text(typed, k), "html": plain}


def reassuring(text: str) -> list[str]:
    return sorted({m.group(0) for m in REASSURING.finditer(text)})


def rules(data: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in data["findings"]}


def missing(data: dict[str, Any]) -> dict[str, str]:
    return {m["item"]: m["status"] for m in data["missing"]}
