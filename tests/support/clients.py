"""What the fixtures of tests/support/fixtures.py hand out."""

from __future__ import annotations

from dataclasses import dataclass


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
