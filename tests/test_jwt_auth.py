"""JWT verification of CDS clients: algorithms, keys, claims, replay, jku allow-list."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jwt
import pytest

from cdsutil import ISSUER, EhrKey, write_issuers
from leptoguide.api.errors import ApiError
from leptoguide.api.jwt_auth import JwtVerifier, load_issuers
from leptoguide.errors import InputError
from leptoguide.settings import Settings

AUD = "http://127.0.0.1:8000/cds-services/leptoguide-order-sign"


def _verifier(tmp_path: Path, key: EhrKey, **kw: object) -> JwtVerifier:
    seen: set[tuple[str, str]] = set()

    def claim(iss: str, jti: str, _exp: dt.datetime) -> bool:
        if (iss, jti) in seen:
            return False
        seen.add((iss, jti))
        return True

    issuers = load_issuers(write_issuers(tmp_path / "cfg", key, **kw))  # type: ignore[arg-type]
    return JwtVerifier(Settings.from_env(), issuers, claim)


def _rejects(v: JwtVerifier, token: str | None, aud: str = AUD) -> str:
    with pytest.raises(ApiError) as info:
        v.verify(f"Bearer {token}" if token else None, aud)
    assert info.value.status == 401
    return info.value.diagnostics


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_token_accepted(tmp_path: Path, alg: str) -> None:
    key = EhrKey(alg)
    v = _verifier(tmp_path, key)
    result = v.verify(f"Bearer {key.token(AUD)}", AUD)
    assert result.claims is not None and result.claims["iss"] == ISSUER
    assert result.warning is None


def test_rejections(tmp_path: Path) -> None:
    key = EhrKey()
    v = _verifier(tmp_path, key)
    assert "missing" in _rejects(v, None)
    assert "bad signature" in _rejects(v, EhrKey(kid=key.kid).token(AUD))
    assert "aud" in _rejects(v, key.token(AUD + "-other"))
    assert "expired" in _rejects(v, key.token(AUD, exp_in=-120))
    assert "future" in _rejects(v, key.token(AUD, iat_offset=600, exp_in=60))
    assert "too old" in _rejects(v, key.token(AUD, iat_offset=-3600, exp_in=7200))
    assert "not trusted" in _rejects(v, key.token(AUD, iss="https://evil.example"))
    assert "kid" in _rejects(v, key.token(AUD, kid="unknown"))
    assert "not allow-listed" in _rejects(v, key.token(AUD, jku="https://evil.example/jwks.json"))
    token = key.token(AUD, jti="once")
    assert v.verify(f"Bearer {token}", AUD).claims
    assert "replay" in _rejects(v, key.token(AUD, jti="once"))


def test_forbidden_algorithms(tmp_path: Path) -> None:
    key = EhrKey()
    v = _verifier(tmp_path, key)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": ISSUER, "aud": AUD, "exp": now + 60, "iat": now, "jti": "x"}
    hs = jwt.encode(
        claims, "secret-secret-secret-secret-32b!", algorithm="HS256", headers={"kid": key.kid}
    )
    assert "not allowed" in _rejects(v, hs)
    none = jwt.encode(claims, None, algorithm="none", headers={"kid": key.kid})  # type: ignore[arg-type]
    assert "not allowed" in _rejects(v, none)
    es256 = EhrKey("ES384")
    assert "kid" in _rejects(
        v, jwt.encode(claims, es256.private, algorithm="ES384")
    )  # no kid header


def test_unauthenticated_mode_warns(tmp_path: Path) -> None:
    v = JwtVerifier(Settings.from_env(), {}, lambda *_: True)
    result = v.verify(None, AUD)
    assert result.claims is None and result.warning and "unauthenticated" in result.warning


def test_issuer_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "issuers.yaml"
    bad.write_text("issuers:\n  - iss: x\n")
    with pytest.raises(InputError, match="jwks_file, jwks or jku"):
        load_issuers(bad)
    bad.write_text(json.dumps({"issuers": [{"iss": "x", "jwks_file": "missing.json"}]}))
    with pytest.raises(InputError, match="cannot read JWKS"):
        load_issuers(bad)
    bad.write_text("nope: 1\n")
    with pytest.raises(InputError, match="issuers"):
        load_issuers(bad)
