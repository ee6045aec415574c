"""What one server process holds: settings, knowledge, policy, database, audit log, JWT verifier.

Nothing here is per-user or per-request: a second process pointed at the same database gives the
same answers and appends to the same audit chain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from leptoguide.api.jwt_auth import JwtVerifier, load_issuers
from leptoguide.assessment import Assessment
from leptoguide.case import Case
from leptoguide.knowledge.loader import KnowledgeBase, get_knowledge
from leptoguide.policy import Policy, load_policy
from leptoguide.settings import Settings
from leptoguide.store.audit import AuditLog
from leptoguide.store.cds import claim_jti
from leptoguide.store.db import Database

log = logging.getLogger("leptoguide.api")

_T = TypeVar("_T")


@dataclass
class ServiceState:
    settings: Settings
    kb: KnowledgeBase
    policy: Policy
    db: Database
    audit: AuditLog
    verifier: JwtVerifier
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, settings: Settings, *, kb: KnowledgeBase | None = None) -> ServiceState:
        kb = kb or get_knowledge()
        policy = load_policy(kb, settings.policy_path)
        issuers = (
            load_issuers(settings.trusted_issuers_file) if settings.trusted_issuers_file else {}
        )
        db = Database(settings.database_url)
        audit = AuditLog(
            db, settings.audit_key(), store_identifiers=settings.audit_store_identifiers
        )

        def claim(iss: str, jti: str, expires: dt.datetime) -> bool:
            return claim_jti(db, iss, jti, expires)

        verifier = JwtVerifier(settings, issuers, claim)
        return cls(settings, kb, policy, db, audit, verifier)

    def derived(self, key: str, build: Callable[[], _T]) -> _T:
        """A value computed once per process from the knowledge and policy (both fixed for the
        process's life), e.g. a hook's prefetch templates: built on first use, then reused."""
        try:
            value: _T = self._derived[key]
        except KeyError:
            value = self._derived[key] = build()
        return value

    def assess(self, case: Case, *, at: dt.datetime | None, audience: str) -> Assessment:
        """Run the engine (site policy stays server-side)."""
        from leptoguide.engine import assess

        when = at or dt.datetime.now(dt.UTC)
        return assess(case, kb=self.kb, policy=self.policy, at=when, audience=audience)

    def record(
        self,
        *,
        service: str,
        patient_id: str | None,
        input_data: Any,
        output: dict[str, Any],
        event_id: str | None = None,
        actor: str | None = None,
        auth_method: str | None = None,
    ) -> str:
        """Append an audit event (committed before the caller responds); returns its id.

        ``actor``/``auth_method``: who asked and how (see :meth:`AuditLog.record`).
        """
        event = self.audit.record(
            service=service,
            patient_id=patient_id,
            input_data=input_data,
            knowledge_version=self.kb.version,
            policy_id=self.policy.id,
            policy_hash=self.policy.hash,
            output=output,
            event_id=event_id,
            actor=actor,
            auth_method=auth_method,
        )
        return event.id

    def public_base(self, request_base: str) -> str:
        """The external base URL for links (configured, else the request's)."""
        return (self.settings.public_url or request_base).rstrip("/")


async def service_state(request: Request) -> ServiceState:
    """FastAPI dependency: the process's :class:`ServiceState` (set by ``create_app``).

    ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency in a worker
    thread, a thread hop per request for an attribute read."""
    state: ServiceState = request.app.state.leptoguide
    return state


State = Annotated[ServiceState, Depends(service_state)]
"""A handler parameter typed ``State`` receives the process's :class:`ServiceState`."""
