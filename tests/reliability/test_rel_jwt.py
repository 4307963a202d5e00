"""Hostile tokens against the running API (through nginx): every one is a 401 with the same body shape that
says nothing about why, and no key material, stack trace or library message reaches the client.

tests/app/test_app_tokens.py checks the verifier's reasons one by one; this module checks what an attacker
sees over HTTP, including the forgeries that need a second key type (RSA) or header tricks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devstack import LocalStack
from tests.support.clients import User

pytestmark = pytest.mark.integration

PROTECTED = "/v1/documents"
FORGED_TITLE = "written-with-a-forged-token"
ERROR_CODES = {"unauthorized", "invalid_token"}
# The only messages a client may read: fixed sentences that never name the reason a token failed.
MESSAGES = {
    "a bearer token is required",
    "the token is invalid or expired",
    "the token's tenant is unknown",
}
# Words of library messages (PyJWT, cryptography, msgspec) and of Python errors.
LEAKY_WORDS = (
    "traceback",
    "signature",
    "audience",
    "issuer",
    "algorithm",
    "kid",
    "padding",
    "pyjwt",
    "decode",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    # By hand: PyJWT refuses to sign with a PEM or an empty secret, which is what an attacker would try.
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def _raw(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)))


class Forge:
    """Builds tokens from the running stack's own JWT settings."""

    def __init__(self, stack: LocalStack, victim: User) -> None:
        env = stack.app_env
        self.keys: dict[str, str] = json.loads(env["NEXUS_JWT_KEYS"])
        self.kid = env["NEXUS_JWT_ACTIVE_KID"]
        self.issuer = env["NEXUS_JWT_ISSUER"]
        self.audience = env["NEXUS_JWT_AUDIENCE"]
        self.victim = victim
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "sub": self.victim.user_id,
            "tenant": self.victim.tenant,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        return {k: v for k, v in (base | overrides).items() if v is not None}

    def hs256(
        self, claims: dict[str, Any] | None = None, key: str | bytes | None = None, **header: Any
    ) -> str:
        secret = key if key is not None else self.keys[self.kid]
        headers = {"kid": self.kid} | header
        return jwt.encode(claims or self.claims(), secret, algorithm="HS256", headers=headers)


Case = Callable[[Forge], str]


def _tampered_tenant(f: Forge) -> str:
    # A genuine token whose payload is rewritten to another tenant, signature kept.
    header, _, signature = f.hs256().split(".")
    payload = _b64(json.dumps(f.claims(tenant="globex")).encode())
    return f"{header}.{payload}.{signature}"


def _alg_none(alg: str) -> Case:
    return lambda f: _raw({"alg": alg, "typ": "JWT", "kid": f.kid}, f.claims())


def _hmac_other(alg: str) -> Case:
    return lambda f: jwt.encode(f.claims(), f.keys[f.kid], algorithm=alg, headers={"kid": f.kid})


def _rs256_with_embedded_jwk(f: Forge) -> str:
    jwk = json.loads(RSAAlgorithm.to_jwk(f.rsa.public_key()))
    return jwt.encode(f.claims(), f.rsa, algorithm="RS256", headers={"kid": f.kid, "jwk": jwk})


CASES: dict[str, Case] = {
    "alg-none": _alg_none("none"),
    "alg-None": _alg_none("None"),
    "alg-NONE": _alg_none("NONE"),
    "alg-none-with-real-signature": lambda f: ".".join(
        [_b64(json.dumps({"alg": "none", "kid": f.kid}).encode()), *f.hs256().split(".")[1:]]
    ),
    "hs384-right-key": _hmac_other("HS384"),
    "hs512-right-key": _hmac_other("HS512"),
    # RS256/HS256 confusion: a verifier that picks the algorithm from the header would check an HS256
    # signature made with the public key as the HMAC secret (or an RS256 one against an attacker's key).
    "rs256-attacker-key": lambda f: jwt.encode(f.claims(), f.rsa, algorithm="RS256", headers={"kid": f.kid}),
    "hs256-public-key-as-secret": lambda f: _hmac_signed(
        {"alg": "HS256", "kid": f.kid}, f.claims(), f.public_pem
    ),
    "rs256-embedded-jwk": _rs256_with_embedded_jwk,
    "jku-header": lambda f: f.hs256(key="attacker-key-" + "x" * 32, jku="http://127.0.0.1:1/jwks.json"),
    "kid-path-traversal-empty-key": lambda f: _hmac_signed(
        {"alg": "HS256", "kid": "../../../../dev/null"}, f.claims(), b""
    ),
    "kid-sql-injection": lambda f: f.hs256(key="x" * 40, kid="' OR '1'='1"),
    "kid-missing": lambda f: jwt.encode(f.claims(), f.keys[f.kid], algorithm="HS256"),
    "kid-not-a-string": lambda f: _hmac_signed(
        {"alg": "HS256", "kid": [f.kid]}, f.claims(), f.keys[f.kid].encode()
    ),
    "wrong-key": lambda f: f.hs256(key="not-the-key-" + "y" * 40),
    "expired": lambda f: f.hs256(f.claims(iat=int(time.time()) - 900, exp=int(time.time()) - 60)),
    "not-yet-valid": lambda f: f.hs256(f.claims(nbf=int(time.time()) + 600)),
    "wrong-audience": lambda f: f.hs256(f.claims(aud="another-api")),
    "wrong-issuer": lambda f: f.hs256(f.claims(iss="https://evil.example")),
    "no-audience": lambda f: f.hs256(f.claims(aud=None)),
    "no-expiry": lambda f: f.hs256(f.claims(exp=None)),
    "tenant-not-a-string": lambda f: f.hs256(f.claims(tenant=["acme", "globex"])),
    "tenant-unknown": lambda f: f.hs256(f.claims(tenant="no-such-tenant")),
    "tampered-tenant": _tampered_tenant,
    "truncated-signature": lambda f: f.hs256()[:-6],
    "extra-segment": lambda f: f.hs256() + ".AAAA",
    "two-segments": lambda f: ".".join(f.hs256().split(".")[:2]),
    "not-base64": lambda f: "%%%.%%%.%%%",
    "header-not-json": lambda f: _b64(b"{not json") + "." + _b64(b"{}") + ".",
    # Large, but under nginx's 8 KiB header line limit, so that the API itself has to reject it.
    "large-token-wrong-key": lambda f: f.hs256(f.claims(pad="p" * 5000), key="z" * 40),
}

HEADER_CASES: dict[str, dict[str, str | bytes]] = {
    "no-authorization": {},
    "bearer-dots": {"authorization": "Bearer .."},
    "bearer-non-ascii": {"authorization": "Bearer \u00e9t\u00e9".encode()},
    "basic-scheme": {"authorization": "Basic YWRtaW46YWRtaW4="},
    "token-without-scheme": {"authorization": "eyJhbGciOiJIUzI1NiJ9.e30.x"},
    "bearer-only": {"authorization": "Bearer"},
}


@pytest.fixture(scope="module")
def forge(local_stack: LocalStack, new_user: Callable[[str], User]) -> Forge:
    return Forge(local_stack, new_user("acme"))


def _assert_opaque_401(response: httpx.Response, forge: Forge) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] in ERROR_CODES
    assert body["error"]["message"] in MESSAGES
    text = response.text
    for word in LEAKY_WORDS:
        assert word not in text.lower(), f"{word!r} leaked in {text}"
    for secret in forge.keys.values():
        assert secret not in text
    return body  # type: ignore[no-any-return]


def test_the_genuine_token_is_accepted(api: httpx.Client, forge: Forge) -> None:
    # The control: without it, every 401 below could come from a broken forge.
    assert api.get(PROTECTED, headers={"authorization": f"Bearer {forge.hs256()}"}).status_code == 200


@pytest.mark.parametrize("case", sorted(CASES))
def test_forged_tokens_are_opaque_401s(api: httpx.Client, forge: Forge, case: str) -> None:
    token = CASES[case](forge)
    for method, path in (("GET", PROTECTED), ("POST", PROTECTED), ("GET", "/v1/reports/summary")):
        response = api.request(
            method,
            path,
            headers={"authorization": f"Bearer {token}"},
            json={"title": FORGED_TITLE, "body": "b"},
        )
        _assert_opaque_401(response, forge)


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_missing_or_malformed_authorization_is_401(api: httpx.Client, forge: Forge, case: str) -> None:
    _assert_opaque_401(api.get(PROTECTED, headers=HEADER_CASES[case]), forge)


def test_every_rejection_looks_the_same(api: httpx.Client, forge: Forge) -> None:
    """A client cannot tell a wrong key from an expired token or a bad algorithm: one body for all."""
    bodies = set()
    for case in sorted(CASES):
        if case == "tenant-unknown":
            continue  # signed with the real key: only a holder of the key can reach that message
        response = api.get(PROTECTED, headers={"authorization": f"Bearer {CASES[case](forge)}"})
        bodies.add(response.content)
    assert len(bodies) == 1, bodies


def test_nothing_was_written_by_forged_tokens(local_stack: LocalStack) -> None:
    for shard in local_stack.tenant_map["shards"]:
        written = local_stack.psql(shard, f"SELECT count(*) FROM documents WHERE title = '{FORGED_TITLE}'")  # noqa: S608
        assert written.strip() == "0", f"a forged POST wrote to {shard}"
