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


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EhrKey:
    """An ES384 (or RS384) key pair as an EHR would hold it, with its public JWKS."""

    def __init__(self, alg: str = "ES384", kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex[:8]
        self.private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        if alg == "ES384":
            ec_key = ec.generate_private_key(ec.SECP384R1())
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
            self.private = ec_key
        else:
            rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
            self.private = rsa_key
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


# ---- CDS Hooks 2.0 response structures, written from the specification --------------------------

CODING = {
    "type": "object",
    "properties": {
        "system": {"type": "string"},
        "code": {"type": "string"},
        "display": {"type": "string"},
    },
}
ACTION = {
    "type": "object",
    "required": ["type", "description"],
    "properties": {
        "type": {"enum": ["create", "update", "delete"]},
        "description": {"type": "string"},
        "resource": {"type": "object", "required": ["resourceType"]},
        "resourceId": {"type": "string"},
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "delete"}}}, "then": {"required": ["resourceId"]}},
        {
            "if": {"properties": {"type": {"enum": ["create", "update"]}}},
            "then": {"required": ["resource"]},
        },
    ],
}
SUGGESTION = {
    "type": "object",
    "required": ["label"],
    "properties": {
        "label": {"type": "string", "minLength": 1},
        "uuid": {"type": "string"},
        "isRecommended": {"type": "boolean"},
        "actions": {"type": "array", "items": ACTION},
    },
}
LINK = {
    "type": "object",
    "required": ["label", "url", "type"],
    "properties": {
        "label": {"type": "string"},
        "url": {"type": "string", "pattern": "^https?://"},
        "type": {"enum": ["absolute", "smart"]},
        "appContext": {"type": "string"},
        "autolaunchable": {"type": "boolean"},
    },
    "if": {"properties": {"type": {"const": "absolute"}}},
    "then": {"not": {"required": ["appContext"]}},
}
CARD = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": {"type": "string"},
        "summary": {"type": "string", "minLength": 1, "maxLength": 139},
        "detail": {"type": "string"},
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {
            "type": "object",
            "required": ["label"],
            "properties": {
                "label": {"type": "string", "minLength": 1},
                "url": {"type": "string", "pattern": "^https?://"},
                "icon": {"type": "string"},
                "topic": CODING,
            },
        },
        "suggestions": {"type": "array", "items": SUGGESTION},
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array", "items": {**CODING, "required": ["display"]}},
        "links": {"type": "array", "items": LINK},
    },
    "dependentRequired": {"suggestions": ["selectionBehavior"]},
}
RESPONSE = {
    "type": "object",
    "required": ["cards"],
    "properties": {
        "cards": {"type": "array", "items": CARD},
        "systemActions": {"type": "array", "items": ACTION},
    },
}
DISCOVERY = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "description", "id"],
                "properties": {
                    "hook": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"},
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                    "usageRequirements": {"type": "string"},
                },
            },
        }
    },
}
FEEDBACK = {
    "type": "object",
    "required": ["feedback"],
    "properties": {
        "feedback": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["card", "outcome", "outcomeTimestamp"],
                "properties": {
                    "card": {"type": "string"},
                    "outcome": {"enum": ["accepted", "overridden"]},
                    "acceptedSuggestions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": {"type": "string"}},
                        },
                    },
                    "overrideReason": {
                        "type": "object",
                        "properties": {"reason": CODING, "userComment": {"type": "string"}},
                    },
                    "outcomeTimestamp": {"type": "string", "format": "date-time"},
                },
            },
        }
    },
}


def check(schema: dict[str, Any], instance: Any) -> None:
    """Raise with every violation listed if ``instance`` does not match ``schema``."""
    from jsonschema import Draft202012Validator, FormatChecker

    errors = sorted(
        Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(instance),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        raise AssertionError("; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors))


def check_response(body: Any) -> None:
    check(RESPONSE, body)
    for card in body["cards"]:
        if card.get("suggestions"):
            assert card.get("selectionBehavior"), "selectionBehavior is required with suggestions"
        for reason in card.get("overrideReasons") or []:
            assert reason.get("display"), "override reasons need a display"
