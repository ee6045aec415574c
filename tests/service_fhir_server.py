"""A tiny FHIR R4 REST server for tests: read by id; search by patient, code and _id; on loopback.

It requires ``Authorization: Bearer <token>`` when a token is given, pages search results (two
entries a page, ``next`` links) and can serve a JWK Set at ``/jwks.json``. Two misbehaving bases
for limits tests: ``/drip`` answers every read one byte every 0.2 s (a server that never times out
per read), ``/huge`` streams 64 MB without a Content-Length.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from loopback_server import LoopbackServer

PAGE = 2


def _codes(resource: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in ("code", "medicationCodeableConcept", "type"):
        for c in (
            (resource.get(key) or {}).get("coding", [])
            if isinstance(resource.get(key), dict)
            else []
        ):
            out.add(f"{c.get('system')}|{c.get('code')}")
            out.add(str(c.get("code")))
    return out


def _patient_of(resource: dict[str, Any]) -> str | None:
    for key in ("subject", "patient"):
        ref = (
            (resource.get(key) or {}).get("reference")
            if isinstance(resource.get(key), dict)
            else None
        )
        if ref:
            return str(ref).rsplit("/", 1)[-1]
    return None


class FhirTestServer(LoopbackServer):
    def __init__(self, resources: list[dict[str, Any]], *, token: str | None = "fhir-token",
                 jwks: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.resources = resources
        self.token = token
        self.jwks = jwks
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorized(self, request: Request) -> bool:
        return self.token is None or request.headers.get("authorization") == f"Bearer {self.token}"

    def app(self) -> Starlette:
        def outcome(status: int, text: str) -> JSONResponse:
            return JSONResponse(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
                },
                status_code=status,
            )

        async def jwks(request: Request) -> JSONResponse:
            self.requests.append(str(request.url))
            return JSONResponse(self.jwks or {"keys": []})

        async def read(request: Request) -> JSONResponse:
            self.requests.append(str(request.url))
            if not self._authorized(request):
                return outcome(401, "unauthorized")
            rtype, rid = request.path_params["rtype"], request.path_params["rid"]
            for r in self.resources:
                if r["resourceType"] == rtype and r.get("id") == rid:
                    return JSONResponse(r)
            return outcome(404, f"{rtype}/{rid} not found")

        async def search(request: Request) -> JSONResponse:
            self.requests.append(str(request.url))
            if not self._authorized(request):
                return outcome(401, "unauthorized")
            rtype = request.path_params["rtype"]
            patient = request.query_params.get("patient")
            codes = set(filter(None, (request.query_params.get("code") or "").split(",")))
            ids = set(filter(None, (request.query_params.get("_id") or "").split(",")))
            hits = [
                r for r in self.resources
                if r["resourceType"] == rtype
                and (patient is None or _patient_of(r) == patient.rsplit("/", 1)[-1])
                and (not codes or _codes(r) & codes)
                and (not ids or r.get("id") in ids)
            ]  # fmt: skip
            offset = int(request.query_params.get("_offset", "0"))
            page = hits[offset : offset + PAGE]
            bundle: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(hits),
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in page],
                "link": [],
            }
            if offset + PAGE < len(hits):
                nxt = request.url.include_query_params(_offset=offset + PAGE)
                bundle["link"].append({"relation": "next", "url": str(nxt)})
            return JSONResponse(bundle)

        async def drip(request: Request) -> StreamingResponse:
            self.requests.append(str(request.url))

            async def body() -> AsyncIterator[bytes]:
                yield b'{"resourceType": "Bundle", "type": "searchset", "entry": ['
                for _ in range(600):
                    await asyncio.sleep(0.2)
                    yield b" "
                yield b"]}"

            return StreamingResponse(body(), media_type="application/fhir+json")

        async def huge(request: Request) -> StreamingResponse:
            self.requests.append(str(request.url))

            async def body() -> AsyncIterator[bytes]:
                yield b'{"resourceType": "Bundle", "type": "searchset", "entry": [], "pad": "'
                for _ in range(64):
                    yield b"x" * 1_000_000
                yield b'"}'

            return StreamingResponse(body(), media_type="application/fhir+json")

        return Starlette(
            routes=[
                Route("/drip/{path:path}", drip),
                Route("/huge/{path:path}", huge),
                Route("/jwks.json", jwks),
                Route("/{rtype}/{rid}", read),
                Route("/{rtype}", search),
            ]
        )
