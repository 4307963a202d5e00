"""What the fixtures of tests/support/fixtures.py hand out."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class User:
    """A registered user of a tenant, logged in."""

    tenant: str
    email: str
    password: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def fully_ready(client: httpx.Client) -> bool:
    """Whether /readyz reports every dependency answering (status "ready"; "degraded" is also a 200)."""
    try:
        response = client.get("/readyz", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("status") == "ready"
