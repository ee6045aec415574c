"""Flatten a Bundle, a single resource, or a list of them into labelled entries."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from leptoguide.case import DroppedResource
from leptoguide.errors import InputError, MalformedInputError
from leptoguide.intake.common import show

BUNDLE_TYPES = {"collection", "searchset", "transaction", "document", "batch"}

Entry = tuple[str, dict[str, Any], str | None]
"""(label, resource, fullUrl)."""


def flatten(
    obj: Any, name: str, readable: Collection[str], drops: list[DroppedResource]
) -> list[Entry]:
    """Entries of a Bundle, a resource, or a list of Bundles/resources (CDS Hooks prefetch).

    A malformed entry (not an object, no resourceType) is left out and added to ``drops``; the
    rest of the bundle is read. Only a document that is not FHIR at all is an error."""
    out: list[Entry] = []
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            sub = _entries_of(item, f"{name}[{i}]", f"[{i}]", readable, drops)
            out.extend(sub)
        return out
    return _entries_of(obj, name, "", readable, drops)


def _entries_of(
    obj: Any, name: str, prefix: str, readable: Collection[str], drops: list[DroppedResource]
) -> list[Entry]:
    if not isinstance(obj, dict):
        raise MalformedInputError(
            name, f"expected a FHIR resource (a JSON object), got {show(obj)}"
        )
    rtype = obj.get("resourceType")
    if not isinstance(rtype, str):
        raise InputError(name, "not a FHIR resource: 'resourceType' is missing", "resourceType")
    if rtype != "Bundle":
        if rtype not in readable and not prefix:  # in a list, it is counted as not read
            raise InputError(
                name,
                f"resourceType '{rtype}' is not a Bundle or a resource LeptoGuide reads",
                "resourceType",
            )
        return [(label_of(obj, None, prefix or "resource"), obj, None)]
    btype = obj.get("type")
    if btype is not None and (not isinstance(btype, str) or btype not in BUNDLE_TYPES):
        raise InputError(
            name,
            f"Bundle type '{btype}' is not supported (expected one of "
            + ", ".join(sorted(BUNDLE_TYPES))
            + ")",
            "type",
        )
    entries = obj.get("entry", [])
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InputError(name, f"expected a list, got {show(entries)}", "entry")
    out: list[Entry] = []
    for i, entry in enumerate(entries):
        where = f"{prefix}entry[{i}]"
        if not isinstance(entry, dict):
            drops.append(DroppedResource(where, f"expected an object, got {show(entry)}", where))
            continue
        res = entry.get("resource")
        full_url = entry.get("fullUrl")
        if full_url is not None and not isinstance(full_url, str):
            drops.append(
                DroppedResource(where, f"expected a string, got {show(full_url)}", "fullUrl")
            )
            continue
        if res is None:
            out.append((where, {}, full_url))
            continue
        if not isinstance(res, dict):
            drops.append(DroppedResource(where, f"expected an object, got {show(res)}", "resource"))
            continue
        if not isinstance(res.get("resourceType"), str):
            drops.append(DroppedResource(where, "resourceType is missing", "resource.resourceType"))
            continue
        if res["resourceType"] == "Bundle":
            out.extend(_entries_of(res, name, f"{where}.", readable, drops))
            continue
        out.append((label_of(res, full_url, where), res, full_url))
    return out


def label_of(res: Mapping[str, Any], full_url: str | None, fallback: str) -> str:
    rid = res.get("id")
    rtype = res.get("resourceType", "resource")
    if isinstance(rid, str) and rid:
        return f"{rtype}/{rid}"
    if full_url:
        return full_url
    return fallback
