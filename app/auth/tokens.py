"""Stateless access tokens: HS256 JWTs with a `kid` header, several verification keys for rotation."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from app.core.settings import AuthSettings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "tenant", "iss", "aud", "exp", "iat", "nbf")
LEEWAY_SECONDS = 5
# Verified tokens are remembered until they expire, so the hot path skips parsing and HMAC on repeat calls.
# Keys are loaded once per process, so a remembered verification stays true for the token's lifetime.
VERIFIED_CACHE_SIZE = 10_000


class InvalidTokenError(Exception):
    """The token is not acceptable; the message says why (logged, not shown in detail to clients)."""


@dataclass(frozen=True)
class Claims:
    sub: str
    tenant: str
    exp: int


class TokenService:
    def __init__(self, settings: AuthSettings):
        self._keys = {kid: key.get_secret_value().encode() for kid, key in settings.keys.items()}
        self._active_kid = settings.active_kid
        self._issuer = settings.issuer
        self._audience = settings.audience
        self.ttl_seconds = settings.ttl_seconds
        self._verified: dict[str, Claims] = {}

    def issue(self, subject: str, tenant: str, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "sub": subject,
            "tenant": tenant,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._keys[self._active_kid], algorithm=ALGORITHM, headers={"kid": self._active_kid}
        )

    def verify(self, token: str) -> Claims:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known.exp + LEEWAY_SECONDS:
                return known
            del self._verified[token]
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            # Drop the oldest entry (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"malformed token: {exc}") from exc
        # Check the header ourselves too: only HS256 with a known kid, so `alg: none` or an RSA/HMAC
        # confusion never reaches a verifier.
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError(f"algorithm {header.get('alg')!r} is not accepted")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidTokenError("unknown key id")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        sub, tenant = payload.get("sub"), payload.get("tenant")
        if not isinstance(sub, str) or not isinstance(tenant, str):
            raise InvalidTokenError("sub and tenant must be strings")
        return Claims(sub=sub, tenant=tenant, exp=int(payload["exp"]))
