"""Registration, login and token checks against the running stack (through nginx)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.support.clients import User

pytestmark = pytest.mark.integration


def creds(
    tenant: str = "acme",
    email: str = "x@example.com",
    password: str = "long enough pw",  # noqa: S107 - test credentials
) -> dict[str, str]:
    return {"tenant": tenant, "email": email, "password": password}


def test_register_then_duplicate_is_409(api: httpx.Client, new_user: Any) -> None:
    user: User = new_user("acme")
    again = api.post("/v1/auth/register", json=creds(email=user.email.upper(), password="another password"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_same_email_in_another_tenant_is_a_new_user(api: httpx.Client, new_user: Any) -> None:
    user: User = new_user("acme")
    other = api.post("/v1/auth/register", json=creds(tenant="initech", email=user.email))
    assert other.status_code == 201
    assert other.json()["tenant"] == "initech"


def test_register_unknown_tenant_is_404(api: httpx.Client) -> None:
    response = api.post("/v1/auth/register", json=creds(tenant="nobody"))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "tenant not found"}}


@pytest.mark.parametrize(
    "body",
    [
        creds(email="not-an-email"),
        creds(password="short"),
        {"tenant": "acme", "email": "a@example.com"},
        "this is not json",
    ],
    ids=["email", "password", "missing", "not-json"],
)
def test_register_invalid_input_is_422(api: httpx.Client, body: Any) -> None:
    if isinstance(body, str):
        response = api.post("/v1/auth/register", content=body, headers={"content-type": "application/json"})
    else:
        response = api.post("/v1/auth/register", json=body)
    assert response.status_code == 422


def test_token_shape_and_claims(api: httpx.Client, new_user: Any, local_stack: Any) -> None:
    user: User = new_user("globex")
    response = api.post("/v1/auth/token", json=creds("globex", user.email, user.password))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == int(local_stack.app_env["NEXUS_JWT_TTL_SECONDS"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["tenant"] == "globex"
    assert claims["iss"] == local_stack.app_env["NEXUS_JWT_ISSUER"]
    assert claims["aud"] == local_stack.app_env["NEXUS_JWT_AUDIENCE"]
    assert claims["exp"] - claims["iat"] == body["expires_in"]


@pytest.mark.parametrize("field", ["password", "email", "tenant"])
def test_wrong_credentials_are_401(api: httpx.Client, new_user: Any, field: str) -> None:
    user: User = new_user("acme")
    good = creds("acme", user.email, user.password)
    wrong = {"password": "wrong password!", "email": "nobody@example.com", "tenant": "globex"}[field]
    response = api.post("/v1/auth/token", json=good | {field: wrong})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def _forge(local_stack: Any, **overrides: Any) -> str:
    env = local_stack.app_env
    kid = env["NEXUS_JWT_ACTIVE_KID"]
    key = json.loads(env["NEXUS_JWT_KEYS"])[kid]
    now = int(time.time())
    claims = {
        "sub": "00000000-0000-0000-0000-000000000001",
        "tenant": "acme",
        "iss": env["NEXUS_JWT_ISSUER"],
        "aud": env["NEXUS_JWT_AUDIENCE"],
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    claims |= overrides.pop("claims", {})
    return jwt.encode(
        claims, overrides.pop("key", key), algorithm="HS256", headers={"kid": overrides.pop("kid", kid)}
    )


def _alg_none(local_stack: Any) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    payload = _forge(local_stack).split(".")[1].encode()
    return (header + b"." + payload + b".").decode()


@pytest.mark.parametrize(
    "make_token",
    [
        lambda s: _forge(s, claims={"exp": int(time.time()) - 300, "iat": int(time.time()) - 900}),
        lambda s: _forge(s, key="k" * 48),
        lambda s: _forge(s, claims={"aud": "other-api"}),
        lambda s: _forge(s, claims={"iss": "someone-else"}),
        lambda s: _forge(s, kid="retired-key"),
        lambda s: _forge(s, claims={"tenant": "unknown-tenant"}),
        _alg_none,
    ],
    ids=["expired", "wrong-key", "wrong-aud", "wrong-iss", "unknown-kid", "unknown-tenant", "alg-none"],
)
def test_bad_tokens_are_401(api: httpx.Client, local_stack: Any, make_token: Any) -> None:
    assert (
        api.get("/v1/reports/summary", headers={"authorization": f"Bearer {_forge(local_stack)}"}).status_code
        == 200
    )
    response = api.get("/v1/reports/summary", headers={"authorization": f"Bearer {make_token(local_stack)}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_missing_token_is_401(api: httpx.Client) -> None:
    assert api.get("/v1/documents").status_code == 401
    assert api.get("/v1/documents", headers={"authorization": "Basic abc"}).status_code == 401
