"""JWT issue and verification: only HS256 with a known kid, every required claim, rotation."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, tzinfo

import jwt
import pytest
from pydantic import SecretStr

from app.auth.tokens import InvalidTokenError, TokenService
from app.core.settings import AuthSettings

pytestmark = pytest.mark.unit

KEY1, KEY2 = "a" * 40, "b" * 40


def service(active: str = "k2", keys: dict[str, str] | None = None) -> TokenService:
    keys = keys or {"k1": KEY1, "k2": KEY2}
    return TokenService(
        AuthSettings.model_validate(
            {
                "keys": {k: SecretStr(v) for k, v in keys.items()},
                "active_kid": active,
                "issuer": "nexus-test",
                "audience": "nexus-api",
                "ttl_seconds": 60,
            }
        )
    )


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "user-1",
        "tenant": "acme",
        "iss": "nexus-test",
        "aud": "nexus-api",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def forge(payload: dict[str, object], key: str = KEY2, kid: str = "k2", alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def test_issued_token_verifies_with_subject_and_tenant() -> None:
    svc = service()
    token = svc.issue("user-1", "acme")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "kid": "k2", "typ": "JWT"}
    verified = svc.verify(token)
    assert (verified.sub, verified.tenant) == ("user-1", "acme")
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) >= {"sub", "tenant", "iss", "aud", "exp", "iat", "nbf"}
    assert payload["exp"] - payload["iat"] == 60


def test_rotation_old_key_still_verifies_while_listed() -> None:
    old = service(active="k1").issue("user-1", "acme")
    assert service(active="k2").verify(old).sub == "user-1"
    with pytest.raises(InvalidTokenError, match="unknown key id"):
        service(active="k2", keys={"k2": KEY2}).verify(old)


def test_alg_none_is_rejected() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "k2"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    token = (header + b"." + body + b".").decode()
    with pytest.raises(InvalidTokenError, match="not accepted"):
        service().verify(token)


def test_other_hmac_algorithms_are_rejected() -> None:
    with pytest.raises(InvalidTokenError, match="not accepted"):
        service().verify(forge(claims(), key="b" * 64, alg="HS512"))


@pytest.mark.parametrize(
    ("token_factory", "reason"),
    [
        (lambda: forge(claims(), key="c" * 40), "Signature verification failed"),
        (lambda: forge(claims(exp=int(time.time()) - 120)), "expired"),
        (lambda: forge(claims(aud="someone-else")), "(?i)audience"),
        (lambda: forge(claims(iss="evil")), "(?i)issuer"),
        (lambda: forge(claims(), kid="k9"), "unknown key id"),
        (lambda: forge(claims(nbf=int(time.time()) + 600)), "not yet valid"),
        (lambda: forge(claims(tenant=None)), "tenant"),
        (lambda: forge(claims(exp=None)), "exp"),
        (lambda: forge(claims(sub=None)), "sub"),
        (lambda: "not-a-jwt", "malformed"),
    ],
    ids=[
        "wrong-key",
        "expired",
        "wrong-aud",
        "wrong-iss",
        "unknown-kid",
        "not-before",
        "no-tenant",
        "no-exp",
        "no-sub",
        "garbage",
    ],
)
def test_bad_tokens_are_rejected(token_factory: object, reason: str) -> None:
    with pytest.raises(InvalidTokenError, match=reason):
        service().verify(token_factory())  # type: ignore[operator]


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service()
    token = svc.issue("user-1", "acme")
    assert svc.verify(token).sub == "user-1"
    assert svc.verify(token).sub == "user-1", "the second call is served from memory"
    later = time.time() + 3600

    class Later(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:  # type: ignore[override]
            return cls.fromtimestamp(later, tz)

    monkeypatch.setattr("app.auth.tokens.time.time", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", Later)
    with pytest.raises(InvalidTokenError, match="expired"):
        svc.verify(token)


def test_a_forged_token_is_not_served_from_memory() -> None:
    svc = service()
    token = svc.issue("user-1", "acme")
    svc.verify(token)
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidTokenError):
        svc.verify(tampered)
