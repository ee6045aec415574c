"""Fixtures for in-process web tests: the service app when it exists, else a local app + mount()."""

from __future__ import annotations

import re
import shutil
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leptoguide.settings import Settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_app(home: Path, **extra: Any) -> FastAPI:
    settings = Settings.from_env()
    settings = replace(settings, home=home, extra={**settings.extra, **extra})
    try:
        from leptoguide.api.app import create_app
    except ModuleNotFoundError:
        create_app = None  # type: ignore[assignment]
    if create_app is not None:
        return create_app(settings)
    from leptoguide.knowledge.loader import get_knowledge
    from leptoguide.policy import load_policy
    from leptoguide.store.audit import AuditLog
    from leptoguide.store.db import Database
    from leptoguide.web.app import mount

    kb = get_knowledge()
    db = Database(settings.database_url)
    app = FastAPI()
    app.state.leptoguide = SimpleNamespace(
        settings=settings,
        kb=kb,
        policy=load_policy(kb, None),
        db=db,
        audit=AuditLog(db, settings.audit_key()),
    )
    mount(app, settings)
    return app


class Site:
    """A TestClient that remembers the last CSRF token it saw in a page."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **kw: Any) -> Any:
        resp = self.client.get(url, **kw)
        m = CSRF.search(resp.text)
        if m:
            self.csrf = m.group(1)
        return resp

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        if not self.csrf:
            self.get("/")
        body = {"csrf_token": self.csrf, **(data or {})}
        resp = self.client.post(url, data=body, follow_redirects=False, **kw)
        m = CSRF.search(resp.text)
        if m:
            self.csrf = m.group(1)
        return resp

    def login(self, username: str, password: str) -> Any:
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": password})
        self.get("/")
        return resp


@pytest.fixture
def app(_leptoguide_home: Path, migrated_sqlite: Path) -> FastAPI:
    """The web app on a fresh home whose database is at the newest schema (a copy of the
    session's migrated database: the app's own migration step finds nothing to do)."""
    from leptoguide.settings import DATABASE_FILE

    _leptoguide_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_sqlite, _leptoguide_home / DATABASE_FILE)
    return build_app(_leptoguide_home)


@pytest.fixture
def site(app: FastAPI) -> Iterator[Site]:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Site(client)


@pytest.fixture
def users(app: FastAPI) -> dict[str, str]:
    from leptoguide.store.accounts import add_user

    db = app.state.leptoguide_web.db
    out = {}
    for role in ("viewer", "clinician", "reviewer", "admin"):
        add_user(db, role + "1", f"{role}-password-123", role)
        out[role] = f"{role}-password-123"
    return out


@pytest.fixture
def fake_answer(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Install a stand-in ``leptoguide.answer`` returning a fixed cited answer text."""

    def install(
        text: str,
        statement: str | None = None,
        abstain: bool = False,
        citations: list[dict[str, Any]] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        class _Answer:
            def __init__(self, question: str, audience: str, conv: str | None) -> None:
                self.d = {
                    "question": question,
                    "audience": audience,
                    "abstained": abstain,
                    "reason": "no supporting statement" if abstain else None,
                    "answer": "" if abstain else text,
                    "warnings": list(warnings or []),
                    "citations": []
                    if abstain
                    else citations
                    if citations is not None
                    else [
                        {
                            "n": 1,
                            "source": "eano-esmo-2023",
                            "statement": statement,
                            "title": "t",
                            "locator": "Table 1",
                            "status": "approved",
                        }
                    ],
                    "knowledge_version": "test",
                    "confidence": 0.5,
                    "conversation_id": conv or "conv-1",
                    "statements": [statement] if statement else [],
                }

            def to_dict(self) -> dict[str, Any]:
                return self.d

        def ask(
            question: str, audience: str = "clinician", conversation_id: str | None = None, **_: Any
        ) -> _Answer:
            return _Answer(question, audience, conversation_id)

        module = types.ModuleType("leptoguide.answer")
        module.ask = ask  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "leptoguide.answer", module)

    return install
