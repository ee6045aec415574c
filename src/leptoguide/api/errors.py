"""FHIR OperationOutcome errors: one error shape for every 4xx/5xx the service sends."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leptoguide.api.responses import SafeJSONResponse as JSONResponse
from leptoguide.errors import InputError, KnowledgeError

log = logging.getLogger("leptoguide.api")

FHIR_JSON = "application/fhir+json"

# HTTP status -> FHIR issue type (http://hl7.org/fhir/issue-type)
_CODES = {
    400: "invalid",
    401: "security",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "incomplete",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class ApiError(Exception):
    """An error with an HTTP status that becomes an OperationOutcome."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        expression: Sequence[str] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.expression = list(expression or [])
        self.code = code or _CODES.get(status, "processing")
        self.headers = headers


def operation_outcome(
    diagnostics: str,
    *,
    status: int = 400,
    code: str | None = None,
    expression: Sequence[str] | None = None,
    severity: str = "error",
    issues: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A FHIR R4 OperationOutcome with one issue (or the ``issues`` given)."""
    if issues is None:
        issue: dict[str, Any] = {
            "severity": severity,
            "code": code or _CODES.get(status, "processing"),
            "diagnostics": diagnostics,
        }
        if expression:
            issue["expression"] = list(expression)
        issues = [issue]
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_response(
    status: int,
    diagnostics: str,
    *,
    expression: Sequence[str] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = operation_outcome(diagnostics, status=status, code=code, expression=expression)
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _loc_expression(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or ".".join(str(p) for p in loc)


INPUT_STATUS = {"malformed": 400, "invalid": 422}
"""HTTP status per input error kind: unreadable input is 400, a readable one with a bad value 422."""


def input_error_status(exc: InputError) -> int:
    return INPUT_STATUS[exc.kind]


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as an OperationOutcome; a 500 only for true bugs (and logged)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return outcome_response(
            exc.status,
            exc.diagnostics,
            expression=exc.expression,
            code=exc.code,
            headers=exc.headers,
        )

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        field = exc.problem.field
        return outcome_response(
            input_error_status(exc), str(exc.problem), expression=[field] if field else None
        )

    @app.exception_handler(KnowledgeError)
    async def _knowledge_error(_request: Request, exc: KnowledgeError) -> JSONResponse:
        log.error("knowledge error while serving a request: %s", exc)
        return outcome_response(503, f"knowledge base or policy problem: {exc}")

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        status = 400 if any(e.get("type") == "json_invalid" for e in errors) else 422
        issues = []
        for err in errors[:20]:
            loc = err.get("loc") or ()
            issue: dict[str, Any] = {
                "severity": "error",
                "code": "invalid",
                "diagnostics": f"{_loc_expression(loc)}: {err.get('msg', 'invalid')}",
            }
            expr = _loc_expression(loc)
            if expr:
                issue["expression"] = [expr]
            issues.append(issue)
        body = operation_outcome("", issues=issues or None, status=status)
        return JSONResponse(body, status_code=status, media_type=FHIR_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return outcome_response(
            exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return outcome_response(500, f"internal error ({type(exc).__name__}); this is a bug")


OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring OperationOutcome bodies."""
    return {
        s: {
            "description": "FHIR OperationOutcome naming the problem",
            "content": {FHIR_JSON: {"schema": OUTCOME_SCHEMA}},
        }
        for s in statuses
    }
