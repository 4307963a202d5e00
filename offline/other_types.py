"""What the non-AWS providers compute: explicit providers, pulumi-random, and Kubernetes objects."""

from __future__ import annotations

import base64
import string
from typing import Any

from .cloud import Ctx, Emulation, register, register_package_fallback

_ALNUM = string.ascii_letters + string.digits
_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def _provider_id(ctx: Ctx) -> str:
    return ctx.uuid("provider")


def _random_string(ctx: Ctx) -> dict[str, Any]:
    length = int(ctx.get("length") or 16)
    alphabet = ""
    if ctx.get("lower", True):
        alphabet += string.ascii_lowercase
    if ctx.get("upper", True):
        alphabet += string.ascii_uppercase
    if ctx.get("numeric", True):
        alphabet += string.digits
    if ctx.get("special", True):
        alphabet += str(ctx.get("overrideSpecial") or _SPECIAL)
    result = ctx.chars(length, alphabet or _ALNUM, "result")
    out: dict[str, Any] = {"result": result}
    if ctx.type.endswith("RandomPassword"):
        out["bcryptHash"] = "$2a$10$" + ctx.chars(53, _ALNUM + "./", "bcrypt")
    return out


def _random_id(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.digest("bytes")[: int(ctx.get("byteLength") or 8)]
    prefix = str(ctx.get("prefix") or "")
    return {
        "hex": prefix + raw.hex(),
        "dec": prefix + str(int.from_bytes(raw, "big")),
        "b64Std": prefix + base64.b64encode(raw).decode(),
        "b64Url": prefix + base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def _random_integer(ctx: Ctx) -> dict[str, Any]:
    low, high = int(ctx.get("min") or 0), int(ctx.get("max") or 0)
    return {"result": low + int.from_bytes(ctx.digest("int")[:4], "big") % (high - low + 1)}


def _random_pet(ctx: Ctx) -> dict[str, Any]:
    words = ["able", "brave", "calm", "eager", "fair", "gentle", "happy", "jolly", "keen", "lucky"]
    animals = ["otter", "lynx", "heron", "badger", "falcon", "marten", "ibis", "koala", "tapir", "wren"]
    digest = ctx.digest("pet")
    length = int(ctx.get("length") or 2)
    parts = [words[b % len(words)] for b in digest[: length - 1]] + [animals[digest[-1] % len(animals)]]
    pet = str(ctx.get("separator") or "-").join(parts)
    prefix = ctx.get("prefix")
    return {"id": f"{prefix}-{pet}" if prefix else pet}


def _k8s_object(ctx: Ctx) -> dict[str, Any]:
    """Kubernetes objects: ``metadata.name`` auto-named like pulumi-kubernetes (name + 8 random chars)."""
    metadata = dict(ctx.get("metadata") or {})
    if not metadata.get("name"):
        metadata["name"] = f"{ctx.name}-{ctx.chars(8, salt='k8s-name')}"
    metadata.setdefault("uid", ctx.uuid("uid"))
    metadata.setdefault("resourceVersion", "1")
    return {"metadata": metadata}


def _k8s_id(ctx: Ctx) -> str:
    metadata = ctx.state.get("metadata") or {}
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))


register(
    Emulation(
        type="random:index/randomPassword:RandomPassword", id=lambda ctx: "none", compute=_random_string
    ),
    Emulation(
        type="random:index/randomString:RandomString",
        id=lambda ctx: str(ctx.state["result"]),
        compute=_random_string,
    ),
    Emulation(
        type="random:index/randomId:RandomId", id=lambda ctx: str(ctx.state["b64Url"]), compute=_random_id
    ),
    Emulation(
        type="random:index/randomInteger:RandomInteger",
        id=lambda ctx: str(ctx.state["result"]),
        compute=_random_integer,
    ),
    Emulation(
        type="random:index/randomUuid:RandomUuid",
        id=lambda ctx: ctx.uuid("uuid"),
        compute=lambda ctx: {"result": ctx.uuid("uuid")},
    ),
    Emulation(
        type="random:index/randomPet:RandomPet", id=lambda ctx: str(ctx.state["id"]), compute=_random_pet
    ),
)

# Providers of every package get a UUID id, as the engine gives them.
for _package in ("aws", "kubernetes", "random"):
    register(Emulation(type=f"pulumi:providers:{_package}", id=_provider_id))

# Every Kubernetes kind behaves the same way for what a program can read back (metadata.name, the id).
register_package_fallback("kubernetes", Emulation(type="kubernetes:*", id=_k8s_id, compute=_k8s_object))
