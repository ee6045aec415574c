"""The web tables: migration 0002 (up and down), accounts, reviews, feedback."""

from __future__ import annotations

from typing import TypedDict

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import inspect

from leptoguide.errors import InputError
from leptoguide.store import accounts, feedback_web, reviews
from leptoguide.store.db import Database, current_revision, migrate

WEB_TABLES = {
    "web_users",
    "web_sessions",
    "web_login_attempts",
    "statement_reviews",
    "web_feedback",
    "web_feedback_statements",
}


@pytest.fixture
def db(tmp_path) -> Database:  # type: ignore[no-untyped-def]
    return Database(f"sqlite:///{tmp_path / 'w.sqlite3'}")


def test_revision_0002_up_and_down(db: Database) -> None:
    assert set(inspect(db.engine).get_table_names()) >= WEB_TABLES
    assert current_revision(db.engine) in {"0002", "0003", "0004"}  # later revisions sit on top
    from alembic import command

    from leptoguide.store.db import alembic_config

    cfg = alembic_config(db.engine)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        conn.commit()
    assert not WEB_TABLES & set(inspect(db.engine).get_table_names())
    migrate(db.engine)
    assert set(inspect(db.engine).get_table_names()) >= WEB_TABLES


def test_accounts(db: Database) -> None:
    user = accounts.add_user(db, "ann", "a-long-password", "reviewer")
    assert user.has("clinician") and user.has("reviewer") and not user.has("admin")
    with pytest.raises(InputError):
        accounts.add_user(db, "ann", "a-long-password", "viewer")
    with pytest.raises(InputError):
        accounts.add_user(db, "bob", "short", "viewer")
    with pytest.raises(InputError):
        accounts.add_user(db, "bob", "a-long-password", "superuser")
    assert accounts.authenticate(db, "1.2.3.4", "ann", "nope-nope-nope") is None
    assert accounts.authenticate(db, "1.2.3.4", "ann", "a-long-password") == user
    assert accounts.authenticate(db, "1.2.3.4", "nobody", "a-long-password") is None
    token, csrf = accounts.create_session(db, user)
    info = accounts.resolve_session(db, token)
    assert info is not None and info.user == user and info.csrf_token == csrf
    assert accounts.resolve_session(db, token + "x") is None
    accounts.end_session(db, token)
    assert accounts.resolve_session(db, token) is None
    stored = accounts.list_users(db)
    assert stored[0]["username"] == "ann" and "password" not in str(stored)


def test_rate_limit_counts_only_failures(db: Database) -> None:
    accounts.add_user(db, "ann", "a-long-password", "viewer")
    for _ in range(accounts.LOGIN_MAX_FAILURES - 1):
        accounts.authenticate(db, "ip", "ann", "wrong-wrong-wrong")
    assert not accounts.login_blocked(db, "ip", "ann")
    accounts.authenticate(db, "ip", "ann", "wrong-wrong-wrong")
    assert accounts.login_blocked(db, "ip", "ann")
    # counted per account (from any address) and per address (any account), not per pair
    assert accounts.login_blocked(db, "other-ip", "ann")
    assert not accounts.login_blocked(db, "ip", "bob")


class _Reviewer(TypedDict):
    reviewer: str
    knowledge_version: str


def test_reviews(db: Database) -> None:
    kw: _Reviewer = {"reviewer": "ann", "knowledge_version": "1"}  # two-person rule off (default)
    reviews.record_review(
        db, statement_id="s", current="draft", to_status="in_review", comment="c", **kw
    )
    assert reviews.latest_statuses(db) == {"s": "in_review"}
    with pytest.raises(InputError):
        reviews.record_review(
            db, statement_id="s", current="draft", to_status="in_review", comment="c", **kw
        )
    with pytest.raises(InputError):
        reviews.record_review(
            db, statement_id="s", current="in_review", to_status="approved", comment=" ", **kw
        )
    with pytest.raises(InputError):  # approval names the clinician's role
        reviews.record_review(
            db, statement_id="s", current="in_review", to_status="approved", comment="ok", **kw
        )
    reviews.record_review(
        db,
        statement_id="s",
        current="in_review",
        to_status="approved",
        comment="ok",
        clinical_role="consultant neurologist",
        **kw,
    )
    hist = reviews.history(db, "s")
    assert [(h.from_status, h.to_status) for h in hist] == [
        ("in_review", "approved"),
        ("draft", "in_review"),
    ]


def test_feedback(db: Database) -> None:
    fid = feedback_web.add_feedback(
        db,
        target_kind="answer",
        target_id="e1",
        helpful=False,
        reason="vague",
        username=None,
        statements=["a", "b", "a"],
        knowledge_version="1",
    )
    assert fid > 0
    assert [f.reason for f in feedback_web.feedback_for_statement(db, "a")] == ["vague"]
    assert feedback_web.unhelpful_counts(db) == {"a": 1, "b": 1}
    with pytest.raises(InputError):
        feedback_web.add_feedback(
            db,
            target_kind="x",
            target_id="e",
            helpful=True,
            reason="",
            username=None,
            statements=[],
            knowledge_version="1",
        )


def test_production_password_hashes_are_strong(production_password_hasher: PasswordHasher) -> None:
    # argon2id with at least the RFC 9106 low-memory parameters (tests hash with lighter ones)
    assert production_password_hasher.type is Type.ID
    assert production_password_hasher.time_cost >= 3
    assert production_password_hasher.memory_cost >= 64 * 1024
    digest = production_password_hasher.hash("correct-horse-battery")
    assert digest.startswith("$argon2id$") and production_password_hasher.verify(
        digest, "correct-horse-battery"
    )
