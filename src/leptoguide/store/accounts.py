"""Web accounts: argon2 password hashes, server-side sessions, rate-limited sign-in.

Session cookies carry a random token; the database keeps only its SHA-256, so a stolen database copy
does not let anyone sign in. Failed sign-ins are rows in the database (keyed by a hash of client
address and username), so the limit holds across server processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select

from leptoguide.errors import InputError
from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.web_models import ROLES, LoginAttempt, WebSession, WebUser

SESSION_COOKIE = "lg_session"  # the web session cookie (also accepted by the REST API)
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")
MIN_PASSWORD = 10
SESSION_HOURS = 12
LOGIN_WINDOW = dt.timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5
"""Failed sign-ins per account within the window before it is blocked."""
LOGIN_MAX_CLIENT_FAILURES = 20
"""Failed sign-ins per client address (any usernames) within the window before it is blocked."""
ROLE_RANK = {role: i for i, role in enumerate(ROLES)}

_hasher = PasswordHasher()
# A hash of a random password: verifying against it when the user does not exist keeps the
# response time the same, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str

    def has(self, role: str) -> bool:
        """True when this user's role is ``role`` or above (viewer < clinician < reviewer < admin)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


@dataclass(frozen=True)
class SessionInfo:
    user: User
    csrf_token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError("role", f"unknown role {role!r} (one of {', '.join(ROLES)})", "role")


def add_user(db: Database, username: str, password: str, role: str) -> User:
    """Create an account; InputError if the name is taken or the input is unacceptable."""
    if not USERNAME.match(username):
        raise InputError("username", "2-80 letters, digits or _ . @ -", "username")
    _check_role(role)
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"at least {MIN_PASSWORD} characters", "password")
    with db.session() as session, session.begin():
        exists = session.execute(
            select(WebUser.id).where(WebUser.username == username)
        ).scalar_one_or_none()
        if exists is not None:
            raise InputError("username", f"user {username!r} already exists", "username")
        row = WebUser(
            username=username,
            password_hash=_hasher.hash(password),
            role=role,
            active=True,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return User(row.id, row.username, row.role)


def get_user(db: Database, username: str) -> User | None:
    """The active account of this name, if any."""
    with db.session() as session:
        row = session.execute(
            select(WebUser).where(WebUser.username == username)
        ).scalar_one_or_none()
    if row is None or not row.active:
        return None
    return User(row.id, row.username, row.role)


def set_role(db: Database, username: str, role: str) -> None:
    _check_role(role)
    with db.session() as session, session.begin():
        row = session.execute(select(WebUser).where(WebUser.username == username)).scalar_one()
        row.role = role


def list_users(db: Database) -> list[dict[str, object]]:
    with db.session() as session:
        rows = session.execute(select(WebUser).order_by(WebUser.username)).scalars()
        return [
            {
                "username": r.username,
                "role": r.role,
                "active": r.active,
                "created_at": as_utc(r.created_at).isoformat(timespec="seconds"),
            }
            for r in rows
        ]


def _account_key(username: str) -> str:
    return hashlib.sha256(f"account\x00{username.lower()}".encode()).hexdigest()


def _client_key(client: str) -> str:
    return hashlib.sha256(f"client\x00{client}".encode()).hexdigest()


def login_blocked(db: Database, client: str, username: str) -> bool:
    """True when this account, or this client address, had too many recent failures.

    Counted per account (whatever address the attempts come from: a distributed guess at one
    password) and per client (whatever usernames it tries: one address spraying many accounts).
    The client address is the connection's, or the one a configured trusted proxy forwarded."""
    since = utcnow() - LOGIN_WINDOW
    with db.session() as session:

        def failures(key: str) -> int:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(LoginAttempt)
                    .where(LoginAttempt.key == key, LoginAttempt.time >= since)
                ).scalar_one()
            )

        return (
            failures(_account_key(username)) >= LOGIN_MAX_FAILURES
            or failures(_client_key(client)) >= LOGIN_MAX_CLIENT_FAILURES
        )


def authenticate(db: Database, client: str, username: str, password: str) -> User | None:
    """The user if the password matches (and the account is active); failures are recorded."""
    with db.session() as session, session.begin():
        row = session.execute(
            select(WebUser).where(WebUser.username == username)
        ).scalar_one_or_none()
        ok = False
        try:
            ok = _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and row is not None and row.active:
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            # the account's counter resets; the client's does not (one known password must
            # not reset a guessing address)
            session.execute(delete(LoginAttempt).where(LoginAttempt.key == _account_key(username)))
            return User(row.id, row.username, row.role)
        now = utcnow()
        session.add(LoginAttempt(key=_account_key(username), time=now))
        session.add(LoginAttempt(key=_client_key(client), time=now))
        session.execute(delete(LoginAttempt).where(LoginAttempt.time < utcnow() - 4 * LOGIN_WINDOW))
        return None


def create_session(db: Database, user: User) -> tuple[str, str]:
    """A new session: returns (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    with db.session() as session, session.begin():
        session.add(
            WebSession(
                token_hash=token_hash(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + dt.timedelta(hours=SESSION_HOURS),
            )
        )
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return token, csrf


def resolve_session(db: Database, token: str) -> SessionInfo | None:
    """The signed-in user of a cookie token, if the session exists and has not expired."""
    if not token or len(token) > 200:
        return None
    with db.session() as session:
        row = session.execute(
            select(WebSession, WebUser)
            .join(WebUser, WebUser.id == WebSession.user_id)
            .where(WebSession.token_hash == token_hash(token))
        ).one_or_none()
    if row is None:
        return None
    sess, user = row
    if as_utc(sess.expires_at) < utcnow() or not user.active:
        return None
    return SessionInfo(User(user.id, user.username, user.role), sess.csrf_token)


def end_session(db: Database, token: str) -> None:
    with db.session() as session, session.begin():
        session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))
