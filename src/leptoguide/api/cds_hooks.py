"""CDS Hooks 2.0: discovery, the patient-view / order-select / order-sign services, feedback.

A hook call becomes a Case through the ordinary intake reader: prefetched resources (or resources
fetched from ``fhirServer`` when a prefetch key is absent) plus the draft orders are combined into
one collection Bundle. The engine assesses it; :mod:`leptoguide.api.cards` picks the findings whose
rules belong to the hook. The audit event (cards + full assessment) commits before the response.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from leptoguide.api.cards import build_cards, card_topic, draft_orders
from leptoguide.api.cds_request import Dropped, assemble, read_case, selected
from leptoguide.api.errors import ApiError, error_responses
from leptoguide.api.fhir_client import fetch_each
from leptoguide.api.jwt_auth import AuthResult
from leptoguide.api.report_results import fetch_report_results, sent_reports
from leptoguide.api.responses import SafeJSONResponse as JSONResponse
from leptoguide.api.rest_auth import Clinician
from leptoguide.api.state import ServiceState, State
from leptoguide.api.system_actions import describe as describe_system_actions
from leptoguide.api.system_actions import system_actions
from leptoguide.knowledge.loader import KnowledgeBase

PATIENT = "{{context.patientId}}"


@dataclass(frozen=True)
class HookService:
    id: str
    hook: str
    title: str
    description: str


SERVICES: dict[str, HookService] = {
    s.id: s
    for s in (
        HookService(
            "leptoguide-patient-view",
            "patient-view",
            "LeptoGuide: leptomeningeal disease summary",
            "EANO-ESMO workup and classification summary for leptomeningeal disease, the data "
            "still missing, and standing safety issues (LP, intrathecal therapy, meningitis "
            "treatment), each with numbered citations.",
        ),
        HookService(
            "leptoguide-order-select",
            "order-select",
            "LeptoGuide: LP and intrathecal safety (order-select)",
            "Checks newly selected orders: lumbar puncture safety (platelets, INR, "
            "antithrombotics, imaging first), intrathecal safety (CSF flow block, standard VP "
            "shunt, methotrexate with whole-brain RT, liposomal cytarabine, pemetrexed vitamins), "
            "ceftriaxone with IV calcium in neonates, and the ceftriaxone dose.",
        ),
        HookService(
            "leptoguide-order-sign",
            "order-sign",
            "LeptoGuide: LP and intrathecal safety (order-sign)",
            "The order-select checks again at signing, over all draft orders: LP safety, "
            "intrathecal safety, ceftriaxone and IV calcium in neonates, ceftriaxone dose.",
        ),
    )
}


OBSERVATION_SYSTEMS = ("http://loinc.org", "https://leptoguide.org/fhir/CodeSystem/lm")


def observation_codes(kb: KnowledgeBase) -> str:
    """``system|code`` tokens of every observation concept the reader understands.

    Only code systems an Observation is coded in (LOINC and the project code system) and only
    exact codes: ICD-10 category patterns such as ``G93.4*`` are matching rules of the reader, not
    FHIR search tokens.
    """
    tokens = sorted(
        {
            f"{c.system}|{c.code}"
            for concept in kb.concepts.values()
            if concept.kind in ("observation", "finding")
            for c in concept.codes
            if c.system in OBSERVATION_SYSTEMS and "*" not in c.code
        }
    )
    return ",".join(tokens)


def prefetch_templates(kb: KnowledgeBase, hook: str) -> dict[str, str]:
    codes = observation_codes(kb)
    obs = f"Observation?patient={PATIENT}" + (f"&code={codes}" if codes else "")
    templates = {
        "patient": f"Patient/{PATIENT}",
        "observations": obs,
        "conditions": f"Condition?patient={PATIENT}",
        "medicationRequests": f"MedicationRequest?patient={PATIENT}",
        "medicationAdministrations": f"MedicationAdministration?patient={PATIENT}",
        "devices": f"Device?patient={PATIENT}",
        "serviceRequests": f"ServiceRequest?patient={PATIENT}",
        "procedures": f"Procedure?patient={PATIENT}",
        # home medicines (an anticoagulant taken at home is a statement, not an order)
        "medicationStatements": f"MedicationStatement?patient={PATIENT}",
        # narrative MRI, cytology and laboratory reports (and results they hold)
        "diagnosticReports": f"DiagnosticReport?patient={PATIENT}",
    }
    return templates


USAGE = (
    "Send a signed JWT (ES384 or RS384) from a trusted issuer. Prefetch is optional: without it "
    "the service reads fhirServer with fhirAuthorization."
)


def discovery(kb: KnowledgeBase, system_actions: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": s.hook,
                "title": s.title,
                "description": s.description,
                "id": s.id,
                "prefetch": prefetch_templates(kb, s.hook),
                "usageRequirements": " ".join(
                    p for p in (USAGE, describe_system_actions(system_actions, s.hook)) if p
                ),
            }
            for s in SERVICES.values()
        ]
    }


# ---- request / feedback models -----------------------------------------------------------------


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class CdsRequest(BaseModel):
    """A CDS Hooks 2.0 service request."""

    model_config = ConfigDict(extra="allow")
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class Coding(BaseModel):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class OverrideReason(BaseModel):
    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _reason_or_comment(self) -> OverrideReason:
        if self.reason is None and self.userComment is None:
            raise ValueError("an overrideReason needs a reason, a userComment or both (cds-fb-3)")
        return self


class AcceptedSuggestion(BaseModel):
    id: str = Field(min_length=1, max_length=200)


class FeedbackItem(BaseModel):
    card: str = Field(min_length=1, max_length=80)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] = Field(default_factory=list)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime

    @field_validator("outcomeTimestamp")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("outcomeTimestamp needs a UTC offset (RFC 3339)")
        return value

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted outcome needs acceptedSuggestions (cds-fb-2)")
        return self


class FeedbackRequest(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


# ---- hook processing ---------------------------------------------------------------------------


def _check_context(service: HookService, req: CdsRequest) -> None:
    if req.hook != service.hook:
        raise ApiError(
            400,
            f"service {service.id} answers {service.hook}, not {req.hook!r}",
            expression=["hook"],
        )
    ctx = req.context
    for key in ("userId", "patientId"):
        if not isinstance(ctx.get(key), str) or not ctx[key]:
            raise ApiError(
                400, f"context.{key} is required (a string)", expression=[f"context.{key}"]
            )
    if service.hook in ("order-select", "order-sign"):
        draft = ctx.get("draftOrders")
        if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
            raise ApiError(
                400, "context.draftOrders must be a FHIR Bundle", expression=["context.draftOrders"]
            )
        if not isinstance(draft.get("entry", []), list):
            raise ApiError(
                400, "draftOrders.entry must be a list", expression=["context.draftOrders.entry"]
            )
    if service.hook == "order-select":
        sel = ctx.get("selections")
        if not isinstance(sel, list) or not all(isinstance(s, str) for s in sel):
            raise ApiError(
                400,
                "context.selections must be a list of strings",
                expression=["context.selections"],
            )


def _usable(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict) and value.get("resourceType") not in (None, "OperationOutcome")
    )


def _outcome_text(value: Any) -> str:
    """What an OperationOutcome sent in place of a prefetch result says (first issue)."""
    issues = value.get("issue") if isinstance(value, dict) else None
    issue = issues[0] if isinstance(issues, list) and issues and isinstance(issues[0], dict) else {}
    details = issue.get("details")
    text_of_details = details.get("text") if isinstance(details, dict) else None
    for text in (issue.get("diagnostics"), text_of_details, issue.get("code")):
        if isinstance(text, str) and text:
            return text[:200]
    return "no details"


@dataclass
class Prefetch:
    """The data of one hook call: usable prefetch values, values left out, keys not obtained."""

    values: dict[str, Any]
    unusable: list[Dropped]
    unobtained: dict[str, str]  # prefetch key -> why it could not be had


async def resolve_prefetch(
    state: ServiceState, req: CdsRequest, templates: dict[str, str]
) -> Prefetch:
    """Sent prefetch where usable; the rest fetched from fhirServer, each key on its own.

    A key that cannot be had (not sent or answered with an OperationOutcome, and no fhirServer;
    or the server refused, failed or stalled for it) is reported with the reason and the rest is
    assessed; 412 only when nothing at all could be had and there is no draft order to check.
    A prefetch value that is not a FHIR resource is unusable, reported, and fetched instead."""
    sent = req.prefetch or {}
    unusable: list[Dropped] = []
    for key, value in sent.items():
        if value is not None and not isinstance(value, dict):
            if not req.fhirServer:  # nothing to read it from instead: the request is malformed
                raise ApiError(
                    400,
                    f"prefetch {key!r} must be a FHIR resource or null",
                    expression=[f"prefetch.{key}"],
                )
            unusable.append(Dropped(f"prefetch.{key}", None, "not a FHIR resource or Bundle"))
    have = {k: v for k, v in sent.items() if k in templates and _usable(v)}
    need = {k: t for k, t in templates.items() if k not in have}
    unobtained: dict[str, str] = {}
    if need and not req.fhirServer:
        for key in need:
            value = sent.get(key)
            if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
                why = f"answered with an OperationOutcome ({_outcome_text(value)})"
            else:
                why = "not sent"
            unobtained[key] = f"{why}, and the request names no fhirServer to read it from"
    elif need:
        auth = req.fhirAuthorization.model_dump() if req.fhirAuthorization else None
        settings = state.settings
        fetched, unobtained = await fetch_each(
            str(req.fhirServer),
            auth,
            need,
            req.context,
            timeout=settings.fhir_timeout_seconds,
            max_bytes=settings.fhir_max_response_bytes,
        )
        have.update(fetched)
    if unobtained and not have and not _has_drafts(req):
        raise ApiError(
            412,
            "cannot obtain the data the service needs: "
            + "; ".join(f"{k}: {why}" for k, why in sorted(unobtained.items())),
            expression=["prefetch", "fhirServer"],
        )
    return Prefetch(have, unusable, unobtained)


def _has_drafts(req: CdsRequest) -> bool:
    draft = req.context.get("draftOrders")
    return isinstance(draft, dict) and bool(draft.get("entry"))


def run_hook(
    state: ServiceState,
    service: HookService,
    req: CdsRequest,
    prefetch: dict[str, Any],
    base: str,
    auth: AuthResult | None = None,
    unusable: list[Dropped] | None = None,
    unobtained: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Case -> assessment -> cards -> audit (committed) -> response body.

    Drafts win over prefetched copies, other patients' and unreadable resources are left out
    with a reason (see :mod:`leptoguide.api.cds_request`); the rest is assessed."""
    ctx = req.context
    patient_id = str(ctx.get("patientId"))
    draft = ctx.get("draftOrders") if service.hook != "patient-view" else None
    hook_input = assemble(prefetch, draft, patient_id)
    hook_input.dropped[:0] = unusable or []
    case = read_case(
        hook_input, name=f"CDS Hooks {service.hook} request", kb=state.kb, patient_id=patient_id
    )
    assessment = state.assess(case, at=None, audience="clinician")
    audit_id = str(uuid.uuid4())
    cards = build_cards(
        assessment,
        case,
        kb=state.kb,
        hook=service.hook,
        base=base,
        audit_id=audit_id,
        selections=selected(ctx.get("selections") or [], hook_input)
        if service.hook == "order-select"
        else None,
        draft_refs=hook_input.drafts if service.hook != "patient-view" else None,
        patient_id=patient_id,
        dropped=[(d.where, d.reference, d.reason) for d in hook_input.dropped],
        unobtained=unobtained,
        smart=bool(state.settings.smart_client_id and state.settings.smart_issuers),
    )
    response: dict[str, Any] = {"cards": cards}
    actions = system_actions(
        cards,
        enabled=state.settings.cds_system_actions,
        hook=service.hook,
        kb=state.kb,
        orders=draft_orders(case, None, hook_input.drafts)
        if service.hook != "patient-view"
        else [],
        patient_id=patient_id,
        identified=assessment.evaluated_at,
        assessment_url=f"{base}/assess/{audit_id}",
    )
    if actions:  # an optional array is omitted rather than sent empty
        response["systemActions"] = actions
    state.record(
        service=f"cds-hooks/{service.id}",
        patient_id=patient_id,
        input_data={"hook": req.hook, "context": ctx, "bundle": hook_input.bundle},
        output={
            "hook": req.hook,
            "hookInstance": req.hookInstance,
            "response": response,
            "assessment": assessment.model_dump(),
            "dropped": [d.__dict__ for d in hook_input.dropped],
            "unobtained": unobtained or {},
        },
        event_id=audit_id,
        **audit_actor(auth),
    )
    return response


def audit_actor(auth: AuthResult | None) -> dict[str, str | None]:
    """The audit event's actor: the verified CDS client's ``iss`` (method ``jwt``), else none."""
    iss = auth.claims.get("iss") if auth is not None and auth.claims else None
    if isinstance(iss, str):
        return {"actor": iss[:120], "auth_method": "jwt"}
    return {"actor": None, "auth_method": "none"}


def audience_url(state: ServiceState, request: Request) -> str:
    """The exact URL the JWT's ``aud`` must name: the configured public URL plus the path.

    Never taken from the request (Host header, scheme): a forged Host cannot choose the audience.
    ``create_app`` refuses to verify JWTs without a public URL (``serve`` sets one on loopback)."""
    return (state.settings.public_url or "") + request.url.path


async def cds_client(
    request: Request,
    state: State,
    authorization: Annotated[str | None, Header()] = None,
) -> AuthResult:
    """FastAPI dependency: the CDS client's verified JWT (or the open-mode warning). Only the
    header is read: the body stays unread until the caller is known."""
    audience = audience_url(state, request) if state.settings.public_url else ""
    if not state.verifier.required:  # nothing to verify with keys: no thread hop
        return state.verifier.verify(authorization, audience)
    return await run_in_threadpool(state.verifier.verify, authorization, audience)


CdsClient = Annotated[AuthResult, Depends(cds_client)]


async def hook_service(service_id: str) -> HookService:
    """FastAPI dependency: the service named in the path (404 before any credential is checked);
    ``async`` so that FastAPI does not run it in a worker thread."""
    service = SERVICES.get(service_id)
    if service is None:
        raise ApiError(404, f"no CDS service {service_id!r}", expression=["service_id"])
    return service


async def service_client(
    _service: Annotated[HookService, Depends(hook_service)], auth: CdsClient
) -> AuthResult:
    """The CDS client of a call to a known service: the path is checked first, then the JWT."""
    return auth


Service = Annotated[HookService, Depends(hook_service)]
ServiceClient = Annotated[AuthResult, Depends(service_client)]


_Model = TypeVar("_Model", bound=BaseModel)


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request body for a route that reads its body itself (after authentication)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


async def read_body(request: Request, model: type[_Model]) -> _Model:
    """Parse and validate the JSON body (called after authentication; size already capped)."""
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


def router() -> APIRouter:
    r = APIRouter(tags=["CDS Hooks"])
    errs = error_responses(400, 401, 404, 412, 422, 500)

    @r.get("/cds-services", summary="CDS Hooks discovery", responses=error_responses(401, 500))
    async def get_discovery(state: State, auth: CdsClient) -> JSONResponse:
        return JSONResponse(
            state.derived(
                "discovery", lambda: discovery(state.kb, state.settings.cds_system_actions)
            ),
            headers=auth.headers(),
        )

    @r.post(
        "/cds-services/{service_id}",
        summary="Call a CDS service",
        responses=errs,
        openapi_extra=_body_schema(CdsRequest),
    )
    async def call_service(
        service: Service, auth: ServiceClient, request: Request, state: State
    ) -> JSONResponse:
        body = await read_body(request, CdsRequest)  # only now, after authentication
        _check_context(service, body)
        templates = state.derived(
            f"prefetch:{service.hook}", lambda: prefetch_templates(state.kb, service.hook)
        )
        data = await resolve_prefetch(state, body, templates)
        prefetch = await fetch_report_results(
            body.fhirServer,
            body.fhirAuthorization.model_dump() if body.fhirAuthorization else None,
            data.values,
            body.context,
            reports=sent_reports(body.prefetch, templates),
            timeout=state.settings.fhir_timeout_seconds,
            max_bytes=state.settings.fhir_max_response_bytes,
        )
        base = state.public_base(str(request.base_url))
        result = await run_in_threadpool(
            run_hook, state, service, body, prefetch, base, auth, data.unusable, data.unobtained
        )
        return JSONResponse(result, headers=auth.headers())

    @r.post(
        "/cds-services/{service_id}/feedback",
        summary="Feedback on cards (accepted / overridden)",
        responses=errs,
        openapi_extra=_body_schema(FeedbackRequest),
    )
    async def feedback(
        service: Service, auth: ServiceClient, request: Request, state: State
    ) -> JSONResponse:
        body = await read_body(request, FeedbackRequest)
        from leptoguide.store.cds import store_feedback

        items = [item.model_dump(exclude_none=True) for item in body.feedback]
        ids = await run_in_threadpool(store_feedback, state.db, service.id, items)
        return JSONResponse({"stored": len(ids)}, headers=auth.headers())

    @r.get(
        "/api/cds/overrides",
        tags=["CDS Hooks"],
        summary="Card feedback per rule: accepted, overridden, coded override reasons",
        responses=error_responses(401, 403, 500),
    )
    async def overrides(state: State, who: Clinician) -> JSONResponse:
        from leptoguide.store.cds import override_analytics

        topics = [*state.kb.rules, "missing-data", "not-read"]
        rows = await run_in_threadpool(
            override_analytics, state.db, lambda card: card_topic(card, topics)
        )
        titles = {rid: rule.title for rid, rule in state.kb.rules.items()}
        for row in rows:
            row["title"] = titles.get(str(row["rule"]))
        return JSONResponse({"rules": rows}, headers=who.headers())

    return r
