"""The REST API: assess, ask, knowledge browsing, policy, version, health.

Handlers parse, call the core and shape JSON; the audit event commits before the response leaves
(its id is in the ``X-LeptoGuide-Audit-Id`` header, so the body stays the CLI's JSON contract).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from starlette.concurrency import run_in_threadpool

from leptoguide import __version__
from leptoguide.api.errors import ApiError, error_responses
from leptoguide.api.responses import SafeJSONResponse as JSONResponse
from leptoguide.api.rest_auth import ApiPrincipal, Clinician
from leptoguide.api.state import ServiceState, State

AUDIT_HEADER = "X-LeptoGuide-Audit-Id"
MAX_BODY = 5 * 1024 * 1024
Audience = Literal["clinician", "patient"]

ASSESS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A FHIR R4 Bundle or a LeptoGuide case file (JSON or YAML). In JSON, the "
        "input may also be wrapped as {input, at, audience, patient}.",
        "content": {
            "application/json": {"schema": {"type": ["object", "array"]}},
            "application/fhir+json": {"schema": {"type": ["object", "array"]}},
            "application/yaml": {"schema": {"type": ["object", "array"]}},
        },
    }
}


# Mirrors the answer engine's limits (a test checks they agree); importing it here would load the
# retrieval stack at start-up.
ASK_MAX_QUESTION = 2000
ASK_MAX_TOP_K = 20
CONVERSATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # At least one character that is whitespace to none of: Python's str.strip() (which the answer
    # engine uses), the validator's regex and the JSON Schema (ECMA-262) regex clients test the
    # published schema with. \x1c-\x1f are whitespace only to Python, \x85 to Python and the
    # validator but not to ECMA-262, \ufeff only to ECMA-262.
    question: StrictStr = Field(
        min_length=1, max_length=ASK_MAX_QUESTION, pattern=r"[^\s\x1c-\x1f\x85\ufeff]"
    )
    audience: Audience = "clinician"
    conversation_id: str | None = Field(default=None, max_length=64, pattern=CONVERSATION_ID)
    top_k: int | None = Field(default=None, ge=1, le=ASK_MAX_TOP_K)

    @field_validator("top_k", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, (bool, str)):
            raise ValueError("top_k must be an integer")
        return value


def _parse_at(value: Any, field: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(422, "expected an ISO 8601 date-time", expression=[field])
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(422, f"not an ISO 8601 date-time: {value!r}", expression=[field]) from exc
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _do_assess(
    state: ServiceState,
    raw: bytes,
    at: dt.datetime | None,
    audience: str,
    name: str,
    who: ApiPrincipal,
    patient: str | None = None,
) -> tuple[dict[str, Any], str]:
    from leptoguide.intake import read_input

    case = read_input(raw, name=name, kb=state.kb, patient_id=patient)
    result = state.assess(case, at=at, audience=audience).model_dump()
    audit_id = state.record(
        service="assess",
        patient_id=case.patient_reference,
        input_data=raw,
        output=result,
        **who.audit(),
    )
    return result, audit_id


def _do_ask(state: ServiceState, body: AskRequest, who: ApiPrincipal) -> tuple[dict[str, Any], str]:
    from leptoguide.answer import DEFAULT_TOP_K, ask
    from leptoguide.store.conversations import DbConversationStore

    result = ask(
        body.question,
        audience=body.audience,
        conversation_id=body.conversation_id,
        top_k=body.top_k or DEFAULT_TOP_K,
        kb=state.kb,
        conversations=DbConversationStore(state.db),
    ).to_dict()
    audit_id = state.record(
        service="ask",
        patient_id=None,
        input_data=body.model_dump(),
        output=result,
        **who.audit(),
    )
    return result, audit_id


def _page(items: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    return {"total": len(items), "offset": offset, "items": items[offset : offset + limit]}


def router() -> APIRouter:
    r = APIRouter()
    errs = error_responses(400, 404, 413, 415, 422, 500)
    guarded = error_responses(400, 401, 403, 404, 413, 415, 422, 500)

    @r.post(
        "/api/assess",
        tags=["assessment"],
        summary="Assess a FHIR Bundle or case file",
        openapi_extra=ASSESS_BODY,
        responses={200: {"description": "The assessment (CLI JSON contract)"}, **guarded},
    )
    async def assess(
        request: Request,
        state: State,
        who: Clinician,
        at: Annotated[
            str | None, Query(description="evaluation time (ISO 8601)", min_length=10)
        ] = None,
        audience: Annotated[Audience, Query()] = "clinician",
        patient: Annotated[
            str | None,
            Query(
                description="FHIR Patient id the case is about, when the Bundle holds several "
                "(default: the only Patient, else the first; the others' resources are left out "
                "and reported). An id not in the input is a 422 naming 'patient'.",
                min_length=1,
                max_length=200,
            ),
        ] = None,
    ) -> JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, f"body larger than {MAX_BODY} bytes")
        if not raw.strip():
            raise ApiError(
                400, "empty body: send a FHIR Bundle or a case file", expression=["body"]
            )
        when = _parse_at(at, "at")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if "json" in ctype or ctype == "":
            try:
                # orjson, as the reader: refuses NaN/Infinity and bounds nesting (no RecursionError)
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None  # let the reader report where the JSON breaks
            if isinstance(parsed, dict) and "input" in parsed and "resourceType" not in parsed:
                extra = set(parsed) - {"input", "at", "audience", "patient"}
                if extra:
                    raise ApiError(
                        422, f"unknown key {sorted(extra)[0]!r}", expression=[sorted(extra)[0]]
                    )
                if parsed.get("at") is not None:
                    when = _parse_at(parsed["at"], "at")
                if parsed.get("audience") is not None:
                    if parsed["audience"] not in ("clinician", "patient"):
                        raise ApiError(
                            422, "audience is clinician or patient", expression=["audience"]
                        )
                    audience = parsed["audience"]
                if parsed.get("patient") is not None:
                    if not isinstance(parsed["patient"], str) or not parsed["patient"].strip():
                        raise ApiError(
                            422, "patient is a FHIR Patient id (a string)", expression=["patient"]
                        )
                    patient = parsed["patient"].strip()
                if not isinstance(parsed["input"], dict):
                    raise ApiError(422, "input must be a JSON object", expression=["input"])
                raw = orjson.dumps(parsed["input"])
        elif not any(t in ctype for t in ("yaml", "text/plain")):
            raise ApiError(415, f"unsupported content type {ctype!r} (JSON or YAML)")
        name = "request body" + (".yaml" if "yaml" in ctype else "")
        result, audit_id = await run_in_threadpool(
            _do_assess, state, raw, when, audience, name, who, patient
        )
        return JSONResponse(result, headers={AUDIT_HEADER: audit_id, **who.headers()})

    @r.post(
        "/api/ask",
        tags=["answers"],
        summary="Ask a question; a cited answer or an abstention",
        responses={200: {"description": "The answer"}, **guarded},
    )
    async def ask(body: AskRequest, state: State, who: Clinician) -> JSONResponse:
        result, audit_id = await run_in_threadpool(_do_ask, state, body, who)
        return JSONResponse(result, headers={AUDIT_HEADER: audit_id, **who.headers()})

    @r.get("/api/statements", tags=["knowledge"], responses=errs)
    def statements(
        state: State,
        topic: str | None = None,
        status: Literal["draft", "verified", "retired"] | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        kb = state.kb
        needle = (q or "").lower()
        items = [
            s.model_dump(mode="json")
            for s in sorted(kb.statements.values(), key=lambda s: s.id)
            if (topic is None or topic in s.topics)
            and (status is None or s.status == status)
            and (
                not needle
                or needle in s.title.lower()
                or needle in s.clinician.lower()
                or needle in s.id
            )
        ]
        return _page(items, limit, offset)

    @r.get("/api/statements/{statement_id}", tags=["knowledge"], responses=errs)
    def statement(statement_id: str, state: State) -> dict[str, Any]:
        kb = state.kb
        st = kb.statements.get(statement_id)
        if st is None:
            raise ApiError(404, f"no statement {statement_id!r}", expression=["statement_id"])
        out = st.model_dump(mode="json")
        out["sources_detail"] = [
            {
                "source": c.source,
                "locator": c.locator,
                "title": kb.sources[c.source].title if c.source in kb.sources else None,
                "flags": kb.source_flags(c.source),
            }
            for c in st.sources
        ]
        return out

    @r.get("/api/sources", tags=["knowledge"], responses=errs)
    def sources(
        state: State,
        kind: str | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        kb = state.kb
        needle = (q or "").lower()
        items = [
            s.model_dump(mode="json")
            for s in sorted(kb.sources.values(), key=lambda s: s.id)
            if (kind is None or s.kind == kind)
            and (not needle or needle in s.title.lower() or needle in s.id)
        ]
        return _page(items, limit, offset)

    @r.get("/api/sources/{source_id}", tags=["knowledge"], responses=errs)
    def source(source_id: str, state: State) -> dict[str, Any]:
        kb = state.kb
        src = kb.sources.get(source_id)
        if src is None:
            raise ApiError(404, f"no source {source_id!r}", expression=["source_id"])
        out = src.model_dump(mode="json")
        out["flags"] = kb.source_flags(source_id)
        out["cited_by"] = kb.statements_citing(source_id)
        return out

    @r.get("/api/rules", tags=["knowledge"], responses=errs)
    def rules(state: State, hook: str | None = None) -> dict[str, Any]:
        kb = state.kb
        items = [
            r.model_dump(mode="json")
            for r in sorted(kb.rules.values(), key=lambda r: r.id)
            if hook is None or hook in r.hooks
        ]
        return {"total": len(items), "items": items}

    @r.get("/api/policy", tags=["knowledge"], responses=error_responses(500))
    def policy(state: State) -> dict[str, Any]:
        pol = state.policy
        return {**pol.describe(), "values": pol.as_table()}

    @r.get("/api/version", tags=["service"], responses=error_responses(500))
    def version(state: State) -> dict[str, Any]:
        from leptoguide.store.db import current_revision

        return {
            "leptoguide": __version__,
            "knowledge": state.kb.version,
            "policy": {"id": state.policy.id, "hash": state.policy.hash},
            "database": {"dialect": state.db.dialect, "schema": current_revision(state.db.engine)},
        }

    @r.get("/healthz", tags=["service"], responses=error_responses(500))
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @r.get("/readyz", tags=["service"], responses=error_responses(503, 500))
    def readyz(state: State) -> dict[str, Any]:
        if not state.db.ping():
            raise ApiError(503, "database not reachable")
        if not state.kb.statements and not state.kb.sources:
            raise ApiError(503, "knowledge base empty")
        return {"status": "ready", "knowledge": state.kb.version, "database": state.db.dialect}

    return r
