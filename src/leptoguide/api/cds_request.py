"""A CDS Hooks request as the case reader sees it: one patient, drafts first, partial reads.

EHRs send the same order twice (a draft in ``context.draftOrders`` and a pending copy in the
prefetched or fetched ServiceRequest / MedicationRequest search), send drafts with status
``active`` or ``proposal``, send drafts without ids, and put other patients' resources or one
unreadable value in an otherwise good prefetch. The rules here:

* everything in ``draftOrders`` is a draft whatever its status, and wins over any copy with the
  same type and id;
* a draft without an id is named by its ``fullUrl`` or, failing that, by an id derived from its
  content and position, so the same request always gives the same reference;
* resources of another patient are dropped with a reason, and so is each resource the reader
  cannot read; the rest is assessed and the response says what was dropped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from leptoguide.case import Case
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase

MAX_DROPS = 50
"""More unreadable resources than this and the request is refused as a whole (422)."""

_PATIENT_FIELDS = ("subject", "patient")
_ENTRY = re.compile(r"^entry\[(\d+)\]")


@dataclass(frozen=True)
class Dropped:
    """A resource left out of the assessment, where it was in the request, and why."""

    where: str
    reference: str | None
    reason: str


@dataclass
class HookInput:
    """The one collection Bundle to read, the draft order references, what was dropped."""

    bundle: dict[str, Any]
    drafts: list[str] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)  # request location of each bundle entry
    aliases: dict[str, str] = field(default_factory=dict)  # a draft's fullUrl -> its reference


def _patient_id(reference: Any) -> str | None:
    """The id in a ``Patient/<id>`` reference (relative or absolute); None if it names none."""
    if not isinstance(reference, dict):
        return None
    ref = reference.get("reference")
    if not isinstance(ref, str) or "Patient/" not in ref:
        return None
    tail = ref.rsplit("Patient/", 1)[1]
    return tail.split("/_history", 1)[0].split("/", 1)[0] or None


def foreign_patient(resource: dict[str, Any], patient_id: str) -> str | None:
    """The other patient a resource belongs to, or None when it is this patient's (or unknown)."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and rid and rid != patient_id else None
    for key in _PATIENT_FIELDS:
        pid = _patient_id(resource.get(key))
        if pid is not None and pid != patient_id:
            return pid
    return None


def _entries(value: Any, where: str, dropped: list[Dropped]) -> list[tuple[str, dict[str, Any]]]:
    """(location, entry) pairs of a prefetch value or draftOrders Bundle; outcomes are skipped,
    entries that are not objects with a resource object are dropped with a reason."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "OperationOutcome":
        return []
    if value.get("resourceType") != "Bundle":
        return [(where, {"resource": value})]
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        dropped.append(Dropped(f"{where}.entry", None, "entry is not a list"))
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    for i, entry in enumerate(entries):
        loc = f"{where}.entry[{i}]"
        res = entry.get("resource") if isinstance(entry, dict) else None
        search = (entry.get("search") if isinstance(entry, dict) else None) or {}
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            dropped.append(Dropped(loc, None, "not a FHIR resource (no resource or resourceType)"))
            continue
        if res.get("resourceType") == "OperationOutcome":
            continue
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        out.append((loc, entry))
    return out


def _key(res: dict[str, Any]) -> tuple[str, str] | None:
    rid = res.get("id")
    return (str(res["resourceType"]), rid) if isinstance(rid, str) and rid else None


def _draft_id(res: dict[str, Any], index: int) -> str:
    """A stable id for a draft sent without one: its content and position in the request."""
    digest = hashlib.sha256(orjson.dumps(res, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return f"draft-{index}-{digest}"


def _content(res: dict[str, Any]) -> str:
    """A resource's content without its status: a draft and its id-less copy in the prefetch (or
    the same id-less resource sent under two keys) are the same record."""
    body = {k: v for k, v in res.items() if k not in ("status", "id", "meta")}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def assemble(
    prefetch: dict[str, Any], draft_orders: dict[str, Any] | None, patient_id: str
) -> HookInput:
    """One Bundle of this patient's resources: every draft order (as a draft) plus the prefetch
    resources that are not copies of a draft; foreign-patient resources are dropped."""
    dropped: list[Dropped] = []
    entries: list[dict[str, Any]] = []
    drafts: list[str] = []
    locations: list[str] = []
    aliases: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    draft_contents: set[str] = set()
    draft_types: set[str] = set()
    contents: set[str] = set()  # of prefetched resources without an id

    for i, (loc, entry) in enumerate(_entries(draft_orders, "context.draftOrders", dropped)):
        res = dict(entry["resource"])
        other = foreign_patient(res, patient_id)
        if other is not None:
            dropped.append(Dropped(loc, _ref(res), f"draft order for another patient ({other})"))
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        draft_contents.add(_content(entry["resource"]))
        draft_types.add(str(res["resourceType"]))
        if _key(res) is None and not full_url:
            res["id"] = _draft_id(entry["resource"], i)
        res["status"] = "draft"  # a draft whatever status the EHR gave it
        key = _key(res)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        ref = f"{key[0]}/{key[1]}" if key else str(full_url)
        if full_url:
            aliases[full_url] = ref
        drafts.append(ref)
        locations.append(loc)
        out: dict[str, Any] = {"resource": res}
        if full_url:
            out["fullUrl"] = full_url
        entries.append(out)

    for name, value in prefetch.items():
        for loc, entry in _entries(value, f"prefetch.{name}", dropped):
            res = entry["resource"]
            key = _key(res)
            if key is not None and key in seen:
                continue  # the draft (or an earlier copy) wins
            # a copy of a draft that had no id (the EHR's pending copy has one), or one id-less
            # resource sent under two keys: read once
            copy = res["resourceType"] in draft_types
            digest = _content(res) if copy or key is None else ""
            if (copy and digest in draft_contents) or (key is None and digest in contents):
                continue
            if key is None:
                contents.add(digest)
            other = foreign_patient(res, patient_id)
            if other is not None:
                dropped.append(Dropped(loc, _ref(res), f"belongs to another patient ({other})"))
                continue
            if key is not None:
                seen.add(key)
            out = {"resource": res}
            if isinstance(entry.get("fullUrl"), str):
                out["fullUrl"] = entry["fullUrl"]
            entries.append(out)
            locations.append(loc)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return HookInput(bundle, drafts, dropped, locations, aliases)


_TAIL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def selected(selections: list[str], hook_input: HookInput) -> list[str]:
    """order-select ``selections`` as the draft references the cards use. The spec writes them
    as ``Type/id``; clients also send a draft's fullUrl (``urn:uuid:...`` or an absolute URL),
    an absolute URL of the order, or a versioned reference: each names the same draft."""
    out: list[str] = []
    for sel in selections:
        ref = hook_input.aliases.get(sel)
        if ref is None and sel not in hook_input.drafts:
            match = _TAIL.search(sel)
            ref = match.group(1) if match else None
        out.append(ref or sel)
    return out


def _ref(res: dict[str, Any]) -> str | None:
    key = _key(res)
    return f"{key[0]}/{key[1]}" if key else None


def _offender(hook_input: HookInput, exc: InputError, name: str) -> int | None:
    """Index of the bundle entry an InputError is about (its label follows the document name)."""
    where = exc.problem.where
    if not where.startswith(name):
        return None
    label = where[len(name) :].strip()
    if not label:  # a Bundle-level problem: the field names the entry
        match = _ENTRY.match(exc.problem.field or "")
        label = f"entry[{match.group(1)}]" if match else ""
    for i, entry in enumerate(hook_input.bundle["entry"]):
        res = entry["resource"]
        key = _key(res)
        names = {f"entry[{i}]"}
        if key is not None:
            names.add(f"{key[0]}/{key[1]}")
        if isinstance(entry.get("fullUrl"), str):
            names.add(entry["fullUrl"])
        if label in names:
            return i
    return None


def _location_of(hook_input: HookInput, reference: str) -> str:
    """The request location of the bundle entry the reader calls ``reference``."""
    for i, entry in enumerate(hook_input.bundle["entry"]):
        names = {f"entry[{i}]"}
        key = _key(entry["resource"])
        if key is not None:
            names.add(f"{key[0]}/{key[1]}")
        if isinstance(entry.get("fullUrl"), str):
            names.add(entry["fullUrl"])
        if reference in names:
            return hook_input.locations[i]
    return reference


def read_case(
    hook_input: HookInput, *, name: str, kb: KnowledgeBase, patient_id: str | None = None
) -> Case:
    """Read the bundle (one patient: ``patient_id``). Resources the reader leaves out
    (``Case.dropped``) are reported with their request location; a resource the reader still
    refuses outright is dropped with the reader's reason and the rest read again. Raises the
    InputError only when it cannot be pinned on one resource."""
    from leptoguide.intake import read_document

    for _ in range(MAX_DROPS + 1):
        try:
            # the body was parsed by orjson (no NaN, infinities or huge integers)
            case = read_document(
                hook_input.bundle, name=name, kb=kb, patient_id=patient_id, numbers_checked=True
            )
        except InputError as exc:
            index = _offender(hook_input, exc, name)
            if index is None:
                raise
            entry = hook_input.bundle["entry"].pop(index)
            where = hook_input.locations.pop(index)
            ref = _ref(entry["resource"]) or entry.get("fullUrl")
            field_ = f" field '{exc.problem.field}'" if exc.problem.field else ""
            hook_input.dropped.append(
                Dropped(where, ref, f"unreadable{field_}: {exc.problem.message}")
            )
            if ref in hook_input.drafts:
                hook_input.drafts.remove(str(ref))
            continue
        for d in case.dropped:
            field_ = f" field '{d.field}'" if d.field else ""
            hook_input.dropped.append(
                Dropped(_location_of(hook_input, d.reference), d.reference, f"{d.reason}{field_}")
            )
            if d.reference in hook_input.drafts:
                hook_input.drafts.remove(d.reference)
        return case
    raise InputError(name, f"more than {MAX_DROPS} resources could not be read")
