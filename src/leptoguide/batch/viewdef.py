"""SQL-on-FHIR v2 ViewDefinitions (``views/*.json``) compiled to SQL over raw resource lines.

The views are data: one per resource type, each a flat ``select`` of columns with FHIRPath
expressions. The compiler supports the subset the views use, and refuses anything else by name:

- element paths ``a.b.c`` (JSON objects), ``first()`` on a repeating element;
- ``ofType(T)`` on a choice element (``effective.ofType(dateTime)`` reads ``effectiveDateTime``);
- ``getResourceKey()`` (the resource id) and ``x.getReferenceKey(Patient)`` (the id in a
  ``Patient/<id>`` reference, absolute URLs and ``_history`` suffixes allowed).

Column types: ``decimal`` becomes DOUBLE (NULL if not a number); complex types
(``CodeableConcept``) are kept as their JSON text, which the terminology step resolves to a
knowledge concept; every other type is the JSON value as text. The SQL is DuckDB's dialect over a
relation with a ``json`` column; the engine transpiles it for Spark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from leptoguide.errors import KnowledgeError, Problem

_OFTYPE = re.compile(r"^ofType\(([A-Za-z]+)\)$")
_REFKEY = re.compile(r"^getReferenceKey\(([A-Za-z]+)\)$")
_ELEMENT = re.compile(r"^[a-z][A-Za-z0-9]*$")
COMPLEX = {"CodeableConcept", "Quantity", "Period", "Reference", "Coding"}
NUMERIC = {"decimal", "integer", "positiveInt", "unsignedInt"}


@dataclass(frozen=True)
class Column:
    name: str
    path: str
    type: str


@dataclass(frozen=True)
class View:
    name: str
    resource: str
    columns: tuple[Column, ...]


def load_views() -> dict[str, View]:
    """The packaged ViewDefinitions by resource type."""
    out: dict[str, View] = {}
    folder = resources.files("leptoguide.batch").joinpath("views")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        view = parse_view(data, entry.name)
        out[view.resource] = view
    return out


def parse_view(data: Any, where: str) -> View:
    def bad(field: str, message: str) -> KnowledgeError:
        return KnowledgeError([Problem(where, field, message)])

    if not isinstance(data, dict) or data.get("resourceType") != "ViewDefinition":
        raise bad("resourceType", "expected a ViewDefinition")
    resource = data.get("resource")
    if not isinstance(resource, str):
        raise bad("resource", "required")
    cols: list[Column] = []
    for i, sel in enumerate(data.get("select") or []):
        if set(sel) - {"column"}:
            raise bad(f"select[{i}]", "only plain column selects are supported")
        for j, col in enumerate(sel.get("column") or []):
            name, path, typ = col.get("name"), col.get("path"), col.get("type", "string")
            if not (isinstance(name, str) and isinstance(path, str)):
                raise bad(f"select[{i}].column[{j}]", "name and path are required")
            json_path(path, where)  # fails early on unsupported FHIRPath
            cols.append(Column(name, path, typ))
    if not cols:
        raise bad("select", "no columns")
    return View(str(data.get("name") or resource), resource, tuple(cols))


def json_path(fhirpath: str, where: str = "view") -> tuple[str, str | None]:
    """(JSONPath, reference type or None) for a FHIRPath of the supported subset."""
    parts = fhirpath.split(".")
    out: list[str] = []
    ref_type: str | None = None
    for k, part in enumerate(parts):
        if part == "getResourceKey()" and k == 0 and len(parts) == 1:
            return "$.id", None
        m = _OFTYPE.match(part)
        if m:
            if not out or "[" in out[-1]:
                raise KnowledgeError([Problem(where, fhirpath, "ofType() needs an element")])
            typ = m.group(1)
            out[-1] = out[-1] + typ[0].upper() + typ[1:]
            continue
        if part == "first()":
            if not out:
                raise KnowledgeError([Problem(where, fhirpath, "first() needs an element")])
            out[-1] += "[0]"
            continue
        m = _REFKEY.match(part)
        if m and k == len(parts) - 1:
            ref_type = m.group(1)
            out.append("reference")
            continue
        if not _ELEMENT.match(part):
            raise KnowledgeError([Problem(where, fhirpath, f"unsupported FHIRPath step '{part}'")])
        out.append(part)
    return "$." + ".".join(out), ref_type


def _typed(col: Column, text: str, raw: str) -> str:
    """``text``: the value as text; ``raw``: the value as JSON text (for complex types)."""
    _, ref_type = json_path(col.path)
    if ref_type is not None:
        # the id after '<Type>/' (NULL when the reference is to something else)
        return f"NULLIF(regexp_extract({text}, '{ref_type}/([^/]+)', 1), '') AS {col.name}"
    if col.type in COMPLEX:
        return f"{raw} AS {col.name}"
    if col.type in NUMERIC:
        return f"TRY_CAST({text} AS DOUBLE) AS {col.name}"
    return f"{text} AS {col.name}"


def column_sql(col: Column) -> str:
    """One column extracted on its own (portable: transpiles to Spark's get_json_object)."""
    path, _ = json_path(col.path)
    return _typed(col, f"json ->> '{path}'", f"CAST(json -> '{path}' AS VARCHAR)")


def view_sql(view: View, source: str, *, parse_once: bool = False) -> str:
    """SELECT of the view's columns over ``source`` (columns ``json``, ``filename``), one row per
    line, with ``x_bad`` (not JSON), ``x_type`` (its resourceType) and ``x_file`` (the file of a
    bad line). ``parse_once`` (DuckDB): every path is read in one parse of the line."""
    if parse_once:
        paths = ["$.resourceType"] + [json_path(c.path)[0] for c in view.columns]
        listed = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
        cols = ",\n  ".join(
            _typed(c, f"x_l[{i + 2}]", f"x_l[{i + 2}]") for i, c in enumerate(view.columns)
        )
        return (
            f"SELECT x_bad, CASE WHEN x_bad OR x_l[1] IS DISTINCT FROM '{view.resource}' "
            f"THEN x_file END AS x_file, x_l[1] AS x_type,\n  {cols}\n"
            f"FROM (SELECT json IS NULL AS x_bad, filename AS x_file, "
            f"json_extract_string(json, {listed}) AS x_l FROM {source}) s"
        )
    cols = "".join(",\n  " + column_sql(c) for c in view.columns)
    return (
        f"SELECT json IS NULL AS x_bad, CASE WHEN json IS NULL OR json ->> '$.resourceType' "
        f"IS DISTINCT FROM '{view.resource}' THEN filename END AS x_file, "
        f"json ->> '$.resourceType' AS x_type{cols}\nFROM {source}"
    )
