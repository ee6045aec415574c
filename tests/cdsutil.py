"""Helpers for CDS Hooks tests: an EHR signing key, JWTs, trusted-issuer files, response schemas."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://ehr.example.org"


class EhrKey:
    """An ES384 (or RS384) key pair as an EHR would hold it, with its public JWKS."""

    def __init__(self, alg: str = "ES384", kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex[:8]
        if alg == "ES384":
            self.private = ec.generate_private_key(ec.SECP384R1())
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # type: ignore[assignment]
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "alg": alg, "use": "sig"})
        self.jwks = {"keys": [jwk]}

    def token(
        self,
        aud: str,
        *,
        iss: str = ISSUER,
        jku: str | None = None,
        exp_in: int = 300,
        iat_offset: int = 0,
        jti: str | None = None,
        kid: str | None = None,
        extra_header: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time()) + iat_offset
        headers: dict[str, Any] = {"kid": kid or self.kid, "typ": "JWT"}
        if jku:
            headers["jku"] = jku
        headers.update(extra_header or {})
        payload = {
            "iss": iss,
            "aud": aud,
            "exp": now + exp_in,
            "iat": now,
            "jti": jti or uuid.uuid4().hex,
        }
        return jwt.encode(payload, self.private, algorithm=self.alg, headers=headers)


def write_issuers(
    directory: Path, key: EhrKey, *, iss: str = ISSUER, jku: list[str] | None = None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ehr-jwks.json").write_text(json.dumps(key.jwks))
    entry: dict[str, Any] = {"iss": iss, "jwks_file": "ehr-jwks.json"}
    if jku:
        entry["jku"] = jku
    path = directory / "trusted-issuers.json"
    path.write_text(json.dumps({"issuers": [entry]}))
    return path
