"""Conformance to the CDS Hooks logical models (vendored FHIR Shorthand, see fixtures/cds-hooks-spec).

``schema(name)`` builds a JSON Schema from a logical model: one property per element, ``min`` 1 as
required, ``max`` * as an array, element types mapped to JSON types, required bindings as enums.
``violations(name, body)`` adds the model's invariants (FHIRPath in the spec; each implemented
here by key, and an invariant without an implementation is itself a violation).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

SPEC = Path(__file__).parent / "fixtures" / "cds-hooks-spec"
_ELEMENT = re.compile(r"^\* (?P<path>[A-Za-z.]+) (?P<min>\d+)\.\.(?P<max>\d+|\*) (?P<type>\S+)")
_CONTENT_REF = re.compile(
    r"^\* (?P<path>[A-Za-z.]+) (?P<min>\d+)\.\.(?P<max>\d+|\*) contentReference #\w+\.(?P<ref>[\w.]+)"
)
_BINDING = re.compile(r"^\* (?P<path>[A-Za-z.]+) from (?P<vs>\S+) \(required\)")
_PRESENT = re.compile(r"^\* (?P<path>[A-Za-z.]+) \^extension\.valueCode = #present")
_OBEYS = re.compile(r"^\* (?P<path>[A-Za-z.]+) obeys (?P<keys>.+)$")

# Codes of the required value sets, as the element definitions list them
# ("Allowed values ... are: info, warning, critical" and so on).
VALUE_SETS = {
    "CDSIndicator": ["info", "warning", "critical"],
    "CDSActionType": ["create", "update", "delete"],
    "CDSSelectionBehavior": ["at-most-one", "any"],
    "CDSLinkType": ["absolute", "smart"],
}
_URL = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$"}
_UUID = {
    "type": "string",
    "pattern": r"^(urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "markdown": {"type": "string"},
    "code": {"type": "string", "pattern": r"^\S+( \S+)*$"},
    "url": _URL,
    "uuid": _UUID,
    "boolean": {"type": "boolean"},
    "instant": {"type": "string", "format": "date-time"},
    "Coding": {
        "type": "object",
        "properties": {
            "system": {"type": "string"},
            "code": {"type": "string"},
            "display": {"type": "string"},
        },
    },
    "Resource": {"type": "object", "required": ["resourceType"]},
}


def _parse(name: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Element tree {path: (min, max, type, binding)} and invariants by path."""
    elements: dict[str, dict[str, Any]] = {}
    obeys: dict[str, list[str]] = {}
    for line in (SPEC / f"{name}.fsh").read_text(encoding="utf-8").splitlines():
        if m := _CONTENT_REF.match(line):
            elements[m["path"]] = {"min": int(m["min"]), "max": m["max"], "ref": m["ref"]}
        elif m := _ELEMENT.match(line):
            elements[m["path"]] = {"min": int(m["min"]), "max": m["max"], "type": m["type"]}
        elif m := _BINDING.match(line):
            elements[m["path"]]["enum"] = VALUE_SETS[m["vs"].rsplit("/", 1)[-1]]
        elif m := _PRESENT.match(line):  # json-empty-behavior: present even when empty
            elements[m["path"]]["present"] = True
        elif m := _OBEYS.match(line):
            obeys.setdefault(m["path"], []).extend(k.strip() for k in m["keys"].split(" and "))
    return elements, obeys


def _node(elements: dict[str, dict[str, Any]], path: str) -> dict[str, Any]:
    el = elements[path]
    if "ref" in el:
        return _node(elements, el["ref"])
    children = {
        p.rsplit(".", 1)[-1]: p for p in elements if p.rsplit(".", 1)[0] == path and "." in p
    }
    if el["type"] == "Base" and {"key", "value"} <= set(children):
        # json-property-key: an object whose keys and values are the child elements
        return {"type": "object", "additionalProperties": _item(elements, children["value"])}
    if children:
        props = {k: _item(elements, p) for k, p in children.items()}
        props["extension"] = {"type": "object"}
        required = sorted(
            k for k, p in children.items() if elements[p]["min"] >= 1 or elements[p].get("present")
        )
        return {
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
    schema = dict(_TYPES.get(el["type"], {}))
    if "enum" in el:
        schema = {"enum": el["enum"]}
    return schema


def _item(elements: dict[str, dict[str, Any]], path: str) -> dict[str, Any]:
    el = elements[path]
    node = _node(elements, path)
    if el["max"] == "*" and not (el.get("type") == "Base" and "additionalProperties" in node):
        return {"type": "array", "items": node}
    return node


@cache
def schema(name: str) -> dict[str, Any]:
    """JSON Schema (2020-12) of a CDS Hooks body: CDSHooksServices, CDSHooksResponse, CDSHooksFeedback."""
    elements, _ = _parse(name)
    top = {p: p for p in elements if "." not in p}
    props = {p: _item(elements, p) for p in top}
    props["extension"] = {"type": "object"}
    required = sorted(p for p in top if elements[p]["min"] >= 1 or elements[p].get("present"))
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def invariants(name: str) -> dict[str, list[str]]:
    return _parse(name)[1]


def _at(body: Any, path: str) -> list[Any]:
    """Every value at a dotted path (arrays flattened)."""
    values = [body]
    for part in path.split("."):
        nxt: list[Any] = []
        for v in values:
            item = v.get(part) if isinstance(v, dict) else None
            if isinstance(item, list):
                nxt.extend(item)
            elif item is not None:
                nxt.append(item)
        values = nxt
    return values


def _check(key: str, node: dict[str, Any]) -> bool:
    if key == "cds-resp-1":
        recommended = [s for s in node.get("suggestions") or [] if s.get("isRecommended")]
        return node.get("selectionBehavior") != "at-most-one" or len(recommended) <= 1
    if key == "cds-resp-2":
        return node.get("type") != "delete" or ("resourceId" in node and "resource" not in node)
    if key == "cds-resp-3":
        return node.get("type") == "smart" or "appContext" not in node
    if key == "cds-resp-4":
        return bool(node.get("display"))
    if key == "cds-resp-5":
        return all(a.get("description") for a in node.get("actions") or [])
    if key == "cds-resp-6":
        return not node.get("suggestions") or "selectionBehavior" in node
    if key == "cds-resp-7":
        return node.get("actionSelectionBehavior") in (None, "all", "any", "at-most-one")
    if key == "cds-fb-1":
        return node.get("outcome") in ("accepted", "overridden")
    if key == "cds-fb-2":
        return node.get("outcome") != "accepted" or bool(node.get("acceptedSuggestions"))
    if key == "cds-fb-3":
        return "reason" in node or "userComment" in node
    raise KeyError(key)


def violations(name: str, body: Any) -> list[str]:
    """JSON Schema errors plus failed invariants, each with its location."""
    from jsonschema import Draft202012Validator, FormatChecker

    out = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft202012Validator(schema(name), format_checker=FormatChecker()).iter_errors(
            body
        )
    ]
    for path, keys in invariants(name).items():
        for node in _at(body, path):
            for key in keys:
                if not (SPEC / "invariants" / f"{key}.fsh").exists():
                    out.append(f"{path}: invariant {key} not vendored")
                    continue
                try:
                    ok = _check(key, node)
                except KeyError:
                    out.append(f"{path}: invariant {key} not implemented by the checker")
                    continue
                if not ok:
                    out.append(f"{path}: {key} violated by {str(node)[:160]}")
    return out


def assert_conforms(name: str, body: Any) -> None:
    problems = violations(name, body)
    assert not problems, "\n".join(problems)
