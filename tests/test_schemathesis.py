"""Property-based contract test of the REST API against its own OpenAPI document (in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from leptoguide.api.app import create_app
from leptoguide.settings import Settings

_home = Path(__import__("tempfile").mkdtemp(prefix="leptoguide-st-"))
app = create_app(Settings.from_env(home=_home, database_url=f"sqlite:///{_home}/st.sqlite3"))
schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
    path_regex="^/(api|healthz|readyz)"
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_rest_api_conforms(case: schemathesis.Case[Any]) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    # /api/assess declares its body as "an object" (a FHIR Bundle or a case file are richer than
    # OpenAPI says), so a schema-valid object may still be rejected with a precise 422.
    excluded: list[CheckFunction] = [positive_data_acceptance] if case.path == "/api/assess" else []
    case.validate_response(response, excluded_checks=excluded)


# The same contract on a public bind (host set in the settings only; nothing is bound): the
# patient-data endpoints require auth, so schemathesis also probes them without and with bad
# credentials (its ``ignored_auth`` check) and must see 401.
def _public_app() -> tuple[object, str]:
    from cdsutil import EhrKey, write_issuers
    from leptoguide.store import accounts, api_tokens

    home = Path(__import__("tempfile").mkdtemp(prefix="leptoguide-st-pub-"))
    public = create_app(
        Settings.from_env(
            home=home,
            database_url=f"sqlite:///{home}/st.sqlite3",
            host="192.0.2.10",
            trusted_issuers_file=write_issuers(home / "issuers", EhrKey()),
            public_url="http://testserver",
        )
    )
    db = public.state.leptoguide.db
    accounts.add_user(db, "st-clinician", "a-long-password", "clinician")
    token, _ = api_tokens.create_token(db, "st-clinician", name="schemathesis")
    return public, token


public_app, TOKEN = _public_app()
public_schema = schemathesis.openapi.from_asgi("/openapi.json", public_app).include(
    path_regex="^/api/(assess|ask)$"
)


@public_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_rest_api_conforms_with_auth_required(case: schemathesis.Case[Any]) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, response.text
    excluded: list[CheckFunction] = [positive_data_acceptance] if case.path == "/api/assess" else []
    case.validate_response(response, excluded_checks=excluded)
