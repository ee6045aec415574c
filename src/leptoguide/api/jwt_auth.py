"""CDS Hooks client authentication: verify the EHR's signed JWT.

Rules (CDS Hooks 2.0 security section and its best-practices page):

* ``alg`` is ES384 or RS384 only (``none`` and every HMAC algorithm are refused);
* the header carries ``kid``; ``jku`` is optional and, when present, must be allow-listed for the
  issuer; keys come from a configured JWKS file, an inline JWKS or an allow-listed ``jku`` URL
  (fetched over HTTP with a timeout, cached, re-fetched once when a ``kid`` is unknown);
* ``iss`` is a trusted issuer; ``aud`` is the exact URL of the service called; ``exp`` is in the
  future; ``iat`` is not in the future and not older than ``jwt_max_age_seconds``; ``jti`` has not
  been seen before (stored in the database until the token expires).

Trusted issuers file (YAML or JSON)::

    issuers:
      - iss: https://ehr.example-hospital.org
        jwks_file: ehr-jwks.json              # relative to this file
        jku: [https://ehr.example-hospital.org/.well-known/jwks.json]
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml

from leptoguide import yamlsafe
from leptoguide.api.errors import ApiError
from leptoguide.errors import InputError
from leptoguide.settings import Settings

ALLOWED_ALGS = frozenset({"ES384", "RS384"})
_KTY = {"ES384": "EC", "RS384": "RSA"}
WARNING_HEADER = "X-LeptoGuide-Warning"
UNAUTHENTICATED_WARNING = (
    "unauthenticated: no trusted CDS clients are configured, JWTs are not verified"
)


@dataclass(frozen=True)
class Issuer:
    iss: str
    jwks: dict[str, Any] | None = None
    jku: tuple[str, ...] = ()


def _read_jwks(path: Path, where: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(where, f"cannot read JWKS file {path}: {exc}", "jwks_file") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise InputError(where, f"{path} is not a JWK Set (no 'keys' list)", "jwks_file")
    return data


def load_issuers(path: Path) -> dict[str, Issuer]:
    """Parse the trusted-issuers file; every problem names the file and field."""
    where = str(path)
    try:
        data = yamlsafe.load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(where, f"cannot read trusted issuers: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("issuers"), list):
        raise InputError(where, "expected a mapping with an 'issuers' list", "issuers")
    out: dict[str, Issuer] = {}
    for i, item in enumerate(data["issuers"]):
        fld = f"issuers[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("iss"), str):
            raise InputError(where, "each issuer needs an 'iss' string", f"{fld}.iss")
        unknown = set(item) - {"iss", "jwks_file", "jwks", "jku"}
        if unknown:
            raise InputError(where, f"unknown key {sorted(unknown)[0]!r}", fld)
        jwks: dict[str, Any] | None = None
        if item.get("jwks_file"):
            jwks = _read_jwks((path.parent / str(item["jwks_file"])).resolve(), where)
        elif item.get("jwks") is not None:
            jwks = item["jwks"]
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise InputError(where, "inline jwks must be a JWK Set", f"{fld}.jwks")
        jku = item.get("jku") or []
        if isinstance(jku, str):
            jku = [jku]
        if not isinstance(jku, list) or not all(isinstance(u, str) for u in jku):
            raise InputError(where, "jku must be a URL or a list of URLs", f"{fld}.jku")
        if jwks is None and not jku:
            raise InputError(where, "give jwks_file, jwks or jku for the issuer", fld)
        out[item["iss"]] = Issuer(iss=item["iss"], jwks=jwks, jku=tuple(jku))
    return out


@dataclass
class AuthResult:
    """The verified claims, or ``None`` with a warning when running unauthenticated."""

    claims: dict[str, Any] | None
    warning: str | None = None

    def headers(self) -> dict[str, str]:
        return {WARNING_HEADER: self.warning} if self.warning else {}


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        f"JWT rejected: {message}",
        expression=["Authorization"],
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


@dataclass
class JwtVerifier:
    """Verifies CDS client JWTs against trusted issuers; remembers ``jti`` through ``claim``."""

    settings: Settings
    issuers: dict[str, Issuer]
    claim: Any  # Callable[[str, str, dt.datetime], bool]: False when the jti was already seen
    _cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def required(self) -> bool:
        return bool(self.issuers)

    def _fetch_jwks(self, url: str, *, force: bool = False) -> dict[str, Any]:
        import httpx

        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
        if hit and not force and now - hit[0] < self.settings.jku_cache_seconds:
            return hit[1]
        if hit and force and now - hit[0] < 5:  # refetch at most every 5 s per URL
            return hit[1]
        try:
            resp = httpx.get(url, timeout=self.settings.fhir_timeout_seconds)
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _unauthorized(f"cannot fetch the JWK Set at jku {url}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise _unauthorized(f"jku {url} did not return a JWK Set")
        with self._lock:
            self._cache[url] = (now, data)
        return data

    def _key(self, issuer: Issuer, kid: str, jku: str | None, alg: str) -> Any:
        def find(jwks: dict[str, Any] | None) -> dict[str, Any] | None:
            for k in (jwks or {}).get("keys", []):
                if isinstance(k, dict) and k.get("kid") == kid:
                    return k
            return None

        jwk: dict[str, Any] | None = None
        if jku is not None:
            if jku not in issuer.jku:
                raise _unauthorized(f"jku {jku!r} is not allow-listed for issuer {issuer.iss}")
            jwk = find(self._fetch_jwks(jku)) or find(self._fetch_jwks(jku, force=True))
        else:
            jwk = find(issuer.jwks)
            for url in issuer.jku:
                if jwk is not None:
                    break
                jwk = find(self._fetch_jwks(url)) or find(self._fetch_jwks(url, force=True))
        if jwk is None:
            raise _unauthorized(f"no key with kid {kid!r} for issuer {issuer.iss}")
        if jwk.get("kty") != _KTY[alg] or jwk.get("alg", alg) != alg:
            raise _unauthorized(f"key {kid!r} does not match alg {alg}")
        try:
            return jwt.PyJWK(jwk, algorithm=alg).key
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"key {kid!r} is not a usable JWK") from exc

    def verify(self, authorization: str | None, audience: str) -> AuthResult:
        """Check the ``Authorization`` header for a call to ``audience`` (the service URL).

        Without trusted issuers (open mode) a call without a token is accepted with a warning,
        but a token that is present must still be a well-formed, unexpired CDS Hooks JWT for this
        service: a garbage or stale token is rejected, never silently ignored."""
        if not self.required and not authorization:
            return AuthResult(None, UNAUTHENTICATED_WARNING)
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _unauthorized("missing 'Authorization: Bearer <JWT>'")
        token = authorization[7:].strip()
        try:
            # one unverified parse gives both header and claims (the signed decode below parses
            # again, under the key)
            parsed = jwt.decode_complete(token, options={"verify_signature": False})
            header, unverified = parsed["header"], parsed["payload"]
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"malformed token ({exc})") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            raise _unauthorized(f"alg {alg!r} not allowed (ES384 or RS384 only)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _unauthorized("header 'kid' is required")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise _unauthorized(f"header typ must be 'JWT' (got {typ!r})")
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise _unauthorized("header 'jku' must be a URL")
        if not self.required:
            return self._check_unsigned(unverified, audience)
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise _unauthorized(f"issuer {iss!r} is not trusted")
        key = self._key(issuer, kid, jku, alg)
        leeway = self.settings.jwt_leeway_seconds
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "strict_aud": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise _unauthorized(f"aud must be the service URL {audience}") from exc
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _unauthorized("iat is in the future") from exc
        except jwt.InvalidSignatureError as exc:
            raise _unauthorized("bad signature") from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized(str(exc)) from exc
        now = time.time()
        iat = float(claims["iat"])
        if iat > now + leeway:
            raise _unauthorized("iat is in the future")
        if now - iat > self.settings.jwt_max_age_seconds + leeway:
            raise _unauthorized(
                f"token too old (iat more than {self.settings.jwt_max_age_seconds} s ago)"
            )
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise _unauthorized("jti must be a non-empty string")
        expires = dt.datetime.fromtimestamp(float(claims["exp"]) + leeway, dt.UTC)
        if not self.claim(issuer.iss, jti, expires):
            raise _unauthorized("jti already used (replay)")
        return AuthResult(claims)

    def _check_unsigned(self, claims: dict[str, Any], audience: str) -> AuthResult:
        """Open mode: no keys to check the signature with, but the claims must make sense."""
        leeway = self.settings.jwt_leeway_seconds
        now = time.time()
        for name in ("iss", "aud", "exp", "iat", "jti"):
            if name not in claims:
                raise _unauthorized(f"claim {name!r} is required")
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError) as exc:
            raise _unauthorized("exp and iat must be numbers") from exc
        if exp < now - leeway:
            raise _unauthorized("token expired")
        if iat > now + leeway:
            raise _unauthorized("iat is in the future")
        aud = claims["aud"]
        auds = aud if isinstance(aud, list) else [aud]
        if audience and audience not in auds:
            raise _unauthorized(f"aud must be the service URL {audience}")
        return AuthResult(None, UNAUTHENTICATED_WARNING + " (token present, signature not checked)")
