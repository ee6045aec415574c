"""DiagnosticReport results the CDS client referenced but did not send: read from its fhirServer.

A prefetched DiagnosticReport lists its Observations in ``result``; an EHR often sends the report
without them. When the request names a ``fhirServer``, the referenced Observations are read with
the service's bounded prefetch client (:func:`leptoguide.api.fhir_client.fetch_prefetch`: one
search ``Observation?_id=a,b,...`` under its hard deadline and byte cap). What cannot be read stays missing, and the reader
reports it as "referenced result not provided" (never as normal); it never fails the hook.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from leptoguide.api.fhir_client import FhirUnavailable, fetch_prefetch
from leptoguide.intake.fhir import KNOWN_OTHER, READERS

log = logging.getLogger("leptoguide.api")

MAX_RESULTS = 50
"""At most this many referenced results are read per request (the rest stay 'not provided')."""
PREFETCH_KEY = "reportResults"
"""The key the reports and fetched results are added under (a collection Bundle)."""
REPORT_TYPES = ("DiagnosticReport", "DocumentReference")
"""Report resources (their results are read from the server when not sent)."""
SENT_TYPES = frozenset((set(READERS) | KNOWN_OTHER) - {"Patient"})
"""Resources kept when a client sends them under a prefetch key of its own: every kind the chart
reader reads (the Patient comes from the ``patient`` key)."""
_REF = re.compile(r"^(?:.*/)?(Observation)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def _resources(value: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(value, dict):
        return
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        # A malformed Bundle (entry not a list) is named by the chart reader; skip it here.
        for entry in entries if isinstance(entries, list) else []:
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict) and res.get("resourceType") != "Bundle":
                yield res  # the common case, without a nested generator per entry
            else:
                yield from _resources(res)
    else:
        yield value


def missing_results(prefetch: dict[str, Any]) -> list[str]:
    """'Observation/<id>' of every DiagnosticReport.result not among the prefetched resources
    (relative or absolute references to the same server; contained '#id' ones are skipped).

    Two passes: the references first, and only when there are some, the ids of everything sent
    (most requests carry no report with results, and then nothing else is walked)."""
    refs: list[str] = []
    for value in prefetch.values():
        for res in _resources(value):
            if res.get("resourceType") != "DiagnosticReport" or not isinstance(
                res.get("result"), list
            ):
                continue
            for item in res["result"]:
                ref = item.get("reference") if isinstance(item, dict) else None
                m = _REF.match(ref.strip()) if isinstance(ref, str) else None
                if m:
                    refs.append(f"{m.group(1)}/{m.group(2)}")
    if not refs:
        return []
    have: set[str] = set()
    for value in prefetch.values():
        for res in _resources(value):
            rtype, rid = res.get("resourceType"), res.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                have.add(f"{rtype}/{rid}")
    return [r for r in dict.fromkeys(refs) if r not in have][:MAX_RESULTS]


def sent_reports(sent: dict[str, Any] | None, templates: dict[str, str]) -> list[dict[str, Any]]:
    """Resources a client sent under prefetch keys the service did not ask for: reports (EHRs
    send DiagnosticReports and DocumentReferences with a chart) and any other kind the chart
    reader reads (``medicationStatements`` with a home anticoagulant, ``medications`` that orders
    refer to). They are read like the rest of the prefetch; one also sent under a key the service
    asked for is read once."""
    sent = sent or {}
    asked = {
        (res.get("resourceType"), res.get("id"))
        for key, value in sent.items()
        if key in templates
        for res in _resources(value)
    }
    out: list[dict[str, Any]] = []
    for key, value in sent.items():
        if key in templates:
            continue
        for res in _resources(value):
            rtype = res.get("resourceType")
            if rtype not in SENT_TYPES:
                continue
            if res.get("id") is not None and (rtype, res.get("id")) in asked:
                continue
            out.append(res)
    return out


async def fetch_report_results(
    fhir_server: str | None,
    authorization: dict[str, Any] | None,
    prefetch: dict[str, Any],
    context: dict[str, Any],
    *,
    reports: list[dict[str, Any]] | None = None,
    timeout: float,
    max_bytes: int,
) -> dict[str, Any]:
    """``prefetch`` plus, under :data:`PREFETCH_KEY`, the ``reports`` a client sent and the
    results they reference, read from the server; the results are left out when there is no
    server, nothing is missing, or the server fails (the reader then reports them missing)."""
    reports = reports or []
    with_reports = (
        {**prefetch, PREFETCH_KEY: _collection(reports)} if reports and PREFETCH_KEY not in prefetch
        else prefetch
    )  # fmt: skip
    refs = missing_results(with_reports)
    if not fhir_server or not refs:
        return with_reports
    ids = ",".join(ref.split("/", 1)[1] for ref in refs)
    try:  # one search for all of them: an id the server does not hold is simply not returned
        fetched = await fetch_prefetch(
            fhir_server,
            authorization,
            {"results": f"Observation?_id={ids}"},
            context,
            timeout=timeout,
            max_bytes=max_bytes,
        )
    except FhirUnavailable as exc:
        log.warning("referenced report results not read from the FHIR server: %s", exc)
        return with_reports
    wanted = set(refs)
    entries = [
        {"resource": res}
        for res in _resources(fetched.get("results"))
        if res.get("resourceType") == "Observation" and f"Observation/{res.get('id')}" in wanted
    ]
    found = [e["resource"] for e in entries]
    if not found:
        return with_reports
    return {**prefetch, PREFETCH_KEY: _collection([*reports, *found])}


def _collection(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
