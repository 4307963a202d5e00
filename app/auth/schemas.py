from __future__ import annotations

from typing import Annotated, Literal

import msgspec

TenantId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="tenant id")]
Email = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[^@ \t\r\n\f\v\x00]{1,64}@[^@ \t\r\n\f\v\x00]+\.[^@ \t\r\n\f\v\x00]+$",
        max_length=254,
        description="email address",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]


class Credentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tenant: TenantId
    email: Email
    password: Password


class RegisteredUser(msgspec.Struct, frozen=True):
    id: str
    tenant: str
    email: str


class AccessToken(msgspec.Struct, frozen=True):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
