"""REST API tokens: random bearer tokens of web accounts; the database keeps only their SHA-256.

A token acts as its account: it carries the account's *current* role (a role change or disabling the
account applies at once), and stops working when revoked, expired or when the account is disabled.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from leptoguide.errors import InputError
from leptoguide.store.accounts import User, token_hash
from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.web_models import ApiToken, WebUser

TOKEN_NAME = re.compile(r"^[A-Za-z0-9 _.@:-]{1,80}$")
MAX_EXPIRES_DAYS = 3650
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class TokenPrincipal:
    """Who a valid token belongs to."""

    token_id: int
    user: User


def _when(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat(timespec="seconds") if value is not None else None


def create_token(
    db: Database, username: str, *, name: str | None = None, expires_days: int | None = None
) -> tuple[str, dict[str, object]]:
    """A new token for ``username``: returns (the token, shown once; its listing row)."""
    label = name if name is not None else "api"
    if not TOKEN_NAME.match(label):
        raise InputError("token name", "1-80 letters, digits, spaces or _ . @ : -", "name")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise InputError("token expiry", f"between 1 and {MAX_EXPIRES_DAYS}", "expires_days")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.session() as session, session.begin():
        user = session.execute(
            select(WebUser).where(WebUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise InputError("users token create", f"no user {username!r}", "username")
        row = ApiToken(
            user_id=user.id,
            name=label,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + dt.timedelta(days=expires_days) if expires_days else None,
            revoked_at=None,
        )
        session.add(row)
        session.flush()
        info = _row(row, user.username, now)
    return token, info


def _row(row: ApiToken, username: str, now: dt.datetime) -> dict[str, object]:
    expired = row.expires_at is not None and as_utc(row.expires_at) <= now
    state = "revoked" if row.revoked_at is not None else "expired" if expired else "active"
    return {
        "id": row.id,
        "username": username,
        "name": row.name,
        "created_at": _when(row.created_at),
        "expires_at": _when(row.expires_at),
        "revoked_at": _when(row.revoked_at),
        "state": state,
    }


def list_tokens(db: Database, username: str | None = None) -> list[dict[str, object]]:
    """Every token (never the token itself): id, user, name, dates, state."""
    stmt = (
        select(ApiToken, WebUser.username)
        .join(WebUser, WebUser.id == ApiToken.user_id)
        .order_by(ApiToken.id)
    )
    if username is not None:
        stmt = stmt.where(WebUser.username == username)
    now = utcnow()
    with db.session() as session:
        return [_row(tok, name, now) for tok, name in session.execute(stmt).all()]


def revoke_token(db: Database, token_id: int) -> bool:
    """Revoke a token by id; False if it was already revoked. InputError if there is none."""
    with db.session() as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise InputError("users token revoke", f"no token {token_id}", "token_id")
        if row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        return True


def resolve_token(db: Database, token: str) -> TokenPrincipal | None:
    """The account behind a bearer token, if the token is valid, current and its account active."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    with db.session() as session:
        found = session.execute(
            select(ApiToken, WebUser)
            .join(WebUser, WebUser.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(token))
        ).one_or_none()
    if found is None:
        return None
    tok, user = found
    if tok.revoked_at is not None or not user.active:
        return None
    if tok.expires_at is not None and as_utc(tok.expires_at) <= utcnow():
        return None
    return TokenPrincipal(tok.id, User(user.id, user.username, user.role))
