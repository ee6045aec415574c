"""Fetch prefetch data the CDS client did not send, from its FHIR server.

Templates are rendered with root-level primitive ``context`` fields (and the ``user*Id`` tokens);
queries run concurrently with the bearer token from ``fhirAuthorization``; searches follow ``next``
links on the same server for a bounded number of pages. All reads of one request share a hard
deadline (``timeout`` seconds from the first byte sent to the last byte read, whatever the server's
pace) and a byte budget (``max_bytes`` over every response body, counted while streaming, so an
oversized answer is cut off rather than held in memory). :func:`fetch_each` reports each
template's failure on its own (the hook then says which data could not be obtained);
:func:`fetch_prefetch` raises :class:`FhirUnavailable` on any failure.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from leptoguide.settings import LOOPBACK_HOSTS

MAX_PAGES = 10
_TOKEN = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


class FhirUnavailable(Exception):
    """Data the service needs could not be obtained from the FHIR server."""


def render_template(template: str, context: dict[str, Any]) -> str | None:
    """Fill ``{{context.x}}`` and ``{{userXId}}`` tokens; None if a token has no value."""
    missing = False

    def sub(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        value: Any = None
        if name.startswith("context."):
            value = context.get(name.removeprefix("context."))
        elif name in _USER_TOKENS:
            user = str(context.get("userId") or "")
            rtype, _, rid = user.partition("/")
            value = rid if rtype == _USER_TOKENS[name] and rid else None
        if value is None or isinstance(value, (dict, list, bool)):
            missing = True
            return ""
        return quote(str(value), safe="")

    out = _TOKEN.sub(sub, template)
    return None if missing else out


def check_server(url: str) -> str:
    """The base URL without a trailing slash; https, or http on a loopback host only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FhirUnavailable(f"fhirServer {url!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise FhirUnavailable("fhirServer must use https (http is accepted on loopback only)")
    return url.rstrip("/")


def _same_server(base: str, url: str) -> bool:
    a, b = urlsplit(base), urlsplit(url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and b.path.startswith(a.path)


class _Budget:
    """Bytes still allowed for the response bodies of one request."""

    def __init__(self, max_bytes: int) -> None:
        self.left = max_bytes
        self.max = max_bytes

    def take(self, n: int, url: str) -> None:
        self.left -= n
        if self.left < 0:
            raise FhirUnavailable(
                f"FHIR server responses exceed {self.max} bytes (at {url}); refused"
            )


async def _get(client: httpx.AsyncClient, url: str, budget: _Budget) -> Any:
    try:
        async with client.stream("GET", url) as resp:
            if resp.status_code >= 400:
                raise FhirUnavailable(f"FHIR server answered {resp.status_code} for {url}")
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > budget.left:
                raise FhirUnavailable(
                    f"FHIR server response for {url} is {declared} bytes, over the "
                    f"{budget.max}-byte limit; refused"
                )
            chunks: list[bytes] = []
            async for chunk in resp.aiter_bytes():
                budget.take(len(chunk), url)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise FhirUnavailable(f"FHIR server unreachable for {url}: {type(exc).__name__}") from exc
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise FhirUnavailable(f"FHIR server returned non-JSON for {url}") from exc


async def _query(client: httpx.AsyncClient, base: str, path: str, budget: _Budget) -> Any:
    data = await _get(client, f"{base}/{path.lstrip('/')}", budget)
    if not isinstance(data, dict) or "resourceType" not in data:
        raise FhirUnavailable(f"FHIR server returned no resource for {path}")
    if data["resourceType"] != "Bundle":
        return data
    entries = list(data.get("entry") or [])
    page = data
    for _ in range(MAX_PAGES - 1):
        nxt = next(
            (lk.get("url") for lk in page.get("link") or [] if lk.get("relation") == "next"),
            None,
        )
        if not nxt or not _same_server(base, nxt):
            break
        page = await _get(client, nxt, budget)
        if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
            break
        entries.extend(page.get("entry") or [])
    return {**data, "entry": entries, "link": []}


async def fetch_each(
    fhir_server: str,
    authorization: dict[str, Any] | None,
    templates: dict[str, str],
    context: dict[str, Any],
    *,
    timeout: float,
    max_bytes: int = 20_000_000,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the prefetch templates against ``fhir_server``, each on its own: (key -> resource or
    Bundle for the reads that succeeded, key -> reason for those that did not). One failing
    search (a 401 or 403 for one resource type, HTML, a stall past the deadline) does not cost
    the others; a server that cannot be used at all fails every key with the same reason."""
    try:
        base = check_server(fhir_server)
    except FhirUnavailable as exc:
        return {}, {key: str(exc) for key in templates}
    headers = {"Accept": "application/fhir+json"}
    token = (authorization or {}).get("access_token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    paths: dict[str, str] = {}
    failed: dict[str, str] = {}
    for key, template in templates.items():
        rendered = render_template(template, context)
        if rendered is None:
            failed[key] = f"the context lacks a value for {template}"
        else:
            paths[key] = rendered
    got: dict[str, Any] = {}
    if not paths:
        return got, failed
    limits = httpx.Timeout(timeout, connect=min(timeout, 2.0))
    budget = _Budget(max_bytes)
    async with httpx.AsyncClient(headers=headers, timeout=limits, follow_redirects=False) as client:
        tasks = {
            key: asyncio.ensure_future(_query(client, base, path, budget))
            for key, path in paths.items()
        }
        _done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for key, task in tasks.items():
            if task in pending:
                failed[key] = f"FHIR server did not answer within {timeout:g} s; gave up"
                continue
            err = task.exception()
            if isinstance(err, FhirUnavailable):
                failed[key] = str(err)
            elif err is not None:
                raise err  # a bug, not the server's answer
            else:
                got[key] = task.result()
    return got, failed


async def fetch_prefetch(
    fhir_server: str,
    authorization: dict[str, Any] | None,
    templates: dict[str, str],
    context: dict[str, Any],
    *,
    timeout: float,
    max_bytes: int = 20_000_000,
) -> dict[str, Any]:
    """Run the given prefetch templates against ``fhir_server``; key -> resource or Bundle.
    Raises :class:`FhirUnavailable` with the first failure (in template order)."""
    got, failed = await fetch_each(
        fhir_server, authorization, templates, context, timeout=timeout, max_bytes=max_bytes
    )
    for key in templates:
        if key in failed:
            reason = failed[key]
            if reason.startswith("the context lacks"):
                reason = f"prefetch {key!r}: {reason}"
            raise FhirUnavailable(reason)
    return got
