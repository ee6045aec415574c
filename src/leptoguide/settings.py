"""Runtime settings: state directory, database, trusted EHR issuers, CORS, audit key.

Everything has a default that works on a laptop (`make run`); a deployment sets environment
variables or passes options to ``leptoguide serve``:

==================================  ===================================================
``LEPTOGUIDE_HOME``                 state directory (default ``~/.local/share/leptoguide``)
``LEPTOGUIDE_DATABASE_URL``         SQLAlchemy URL (default SQLite in the state directory)
``LEPTOGUIDE_TRUSTED_ISSUERS``      YAML/JSON file of trusted CDS clients (iss -> JWKS)
``LEPTOGUIDE_CORS_ORIGINS``         comma-separated allowed browser origins
``LEPTOGUIDE_AUDIT_KEY``            hex key for the patient-identifier HMAC (else a key file)
``LEPTOGUIDE_AUDIT_IDENTIFIERS``    ``1`` to also store raw patient identifiers in the audit log
``LEPTOGUIDE_PUBLIC_URL``           external base URL (card links; JWT audience behind a proxy)
``LEPTOGUIDE_POLICY``               site policy file
``LEPTOGUIDE_HOST``                 bind address (decides whether unauthenticated calls are allowed)
``LEPTOGUIDE_ALLOW_UNAUTHENTICATED`` ``1``: CDS calls without a JWT, REST calls without a token (any bind)
``LEPTOGUIDE_TRUSTED_PROXIES``      comma-separated proxy addresses whose X-Forwarded-For is believed
``LEPTOGUIDE_MAX_BODY_BYTES``       request body cap (default 10 MB; 413 above it)
``LEPTOGUIDE_FHIR_TIMEOUT``         hard deadline in seconds for all fhirServer reads of one call
``LEPTOGUIDE_FHIR_MAX_BYTES``       byte cap over all fhirServer responses of one call
``LEPTOGUIDE_FRAME_ANCESTORS``      space-separated EHR origins allowed to frame the web pages (SMART)
``LEPTOGUIDE_SMART_ISSUERS``        comma-separated FHIR base URLs (``iss``) trusted for SMART launch
``LEPTOGUIDE_SMART_CLIENT_ID``      this app's SMART client id at those EHRs
``LEPTOGUIDE_SMART_ROLE``           role of accounts opened by a SMART launch (default clinician)
==================================  ===================================================
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ENV_HOME = "LEPTOGUIDE_HOME"
ENV_DATABASE_URL = "LEPTOGUIDE_DATABASE_URL"
ENV_TRUSTED_ISSUERS = "LEPTOGUIDE_TRUSTED_ISSUERS"
ENV_CORS_ORIGINS = "LEPTOGUIDE_CORS_ORIGINS"
ENV_AUDIT_KEY = "LEPTOGUIDE_AUDIT_KEY"
ENV_AUDIT_IDENTIFIERS = "LEPTOGUIDE_AUDIT_IDENTIFIERS"
ENV_PUBLIC_URL = "LEPTOGUIDE_PUBLIC_URL"
ENV_POLICY = "LEPTOGUIDE_POLICY"
ENV_HOST = "LEPTOGUIDE_HOST"  # set by `leptoguide serve` for its worker processes
ENV_ALLOW_UNAUTHENTICATED = "LEPTOGUIDE_ALLOW_UNAUTHENTICATED"
ENV_TRUSTED_PROXIES = "LEPTOGUIDE_TRUSTED_PROXIES"
ENV_MAX_BODY_BYTES = "LEPTOGUIDE_MAX_BODY_BYTES"
ENV_FHIR_TIMEOUT = "LEPTOGUIDE_FHIR_TIMEOUT"
ENV_FHIR_MAX_BYTES = "LEPTOGUIDE_FHIR_MAX_BYTES"
ENV_FRAME_ANCESTORS = "LEPTOGUIDE_FRAME_ANCESTORS"
ENV_SMART_ISSUERS = "LEPTOGUIDE_SMART_ISSUERS"
ENV_SMART_CLIENT_ID = "LEPTOGUIDE_SMART_CLIENT_ID"
ENV_SMART_ROLE = "LEPTOGUIDE_SMART_ROLE"
ENV_CDS_SYSTEM_ACTIONS = "LEPTOGUIDE_CDS_SYSTEM_ACTIONS"

DATABASE_FILE = "leptoguide.sqlite3"
AUDIT_KEY_FILE = "audit.key"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def home_dir() -> Path:
    """The state directory: ``$LEPTOGUIDE_HOME``, default ``~/.local/share/leptoguide`` (created)."""
    override = os.environ.get(ENV_HOME)
    path = (
        Path(override).expanduser() if override else Path.home() / ".local" / "share" / "leptoguide"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url(home: Path | None = None) -> str:
    """The embedded SQLite database: ``home_dir()/leptoguide.sqlite3``."""
    return f"sqlite:///{(home or home_dir()) / DATABASE_FILE}"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _words(value: str | None, sep: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in (value or "").replace(",", sep).split(sep) if w.strip())


def _number(name: str, kind: type[int] | type[float], default: float) -> Any:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if value <= 0:
        from leptoguide.errors import InputError

        raise InputError(name, f"expected a positive number, got {raw!r}", name)
    return value


@dataclass(frozen=True)
class Settings:
    """Effective settings of one server process. Build with :meth:`from_env`."""

    home: Path
    database_url: str
    trusted_issuers_file: Path | None = None
    cors_origins: tuple[str, ...] = ()
    audit_key_hex: str | None = None
    audit_store_identifiers: bool = False
    public_url: str | None = None
    policy_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    allow_unauthenticated: bool = False
    jwt_max_age_seconds: int = 300
    jwt_leeway_seconds: int = 60
    jku_cache_seconds: int = 300
    fhir_timeout_seconds: float = 5.0
    fhir_max_response_bytes: int = 20_000_000
    max_body_bytes: int = 10_000_000
    trusted_proxies: tuple[str, ...] = ()
    frame_ancestors: tuple[str, ...] = ()
    smart_issuers: tuple[str, ...] = ()
    smart_client_id: str | None = None
    smart_role: str = "clinician"
    cds_system_actions: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment; keyword arguments (CLI options) win when not None."""
        home = home_dir()
        issuers = os.environ.get(ENV_TRUSTED_ISSUERS)
        policy = os.environ.get(ENV_POLICY)
        origins = os.environ.get(ENV_CORS_ORIGINS, "")
        base = cls(
            home=home,
            database_url=os.environ.get(ENV_DATABASE_URL) or default_database_url(home),
            trusted_issuers_file=Path(issuers) if issuers else None,
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            audit_key_hex=os.environ.get(ENV_AUDIT_KEY) or None,
            audit_store_identifiers=_flag(os.environ.get(ENV_AUDIT_IDENTIFIERS)),
            public_url=(os.environ.get(ENV_PUBLIC_URL) or "").rstrip("/") or None,
            policy_path=Path(policy) if policy else None,
            host=os.environ.get(ENV_HOST) or "127.0.0.1",
            allow_unauthenticated=_flag(os.environ.get(ENV_ALLOW_UNAUTHENTICATED)),
            trusted_proxies=_words(os.environ.get(ENV_TRUSTED_PROXIES), ","),
            frame_ancestors=_words(os.environ.get(ENV_FRAME_ANCESTORS), " "),
            smart_issuers=_words(os.environ.get(ENV_SMART_ISSUERS), ","),
            smart_client_id=os.environ.get(ENV_SMART_CLIENT_ID) or None,
            smart_role=os.environ.get(ENV_SMART_ROLE) or "clinician",
            cds_system_actions=_words(os.environ.get(ENV_CDS_SYSTEM_ACTIONS), ","),
            max_body_bytes=_number(ENV_MAX_BODY_BYTES, int, 10_000_000),
            fhir_timeout_seconds=_number(ENV_FHIR_TIMEOUT, float, 5.0),
            fhir_max_response_bytes=_number(ENV_FHIR_MAX_BYTES, int, 20_000_000),
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    def audit_key(self) -> bytes:
        """The HMAC key for patient identifiers: from settings, else generated once (0600 file)."""
        if self.audit_key_hex:
            try:
                return bytes.fromhex(self.audit_key_hex)
            except ValueError as exc:
                from leptoguide.errors import InputError

                raise InputError(ENV_AUDIT_KEY, "expected a hex string", ENV_AUDIT_KEY) from exc
        path = self.home / AUDIT_KEY_FILE
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)  # atomic: the first process to create the key wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
