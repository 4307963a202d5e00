"""Fixtures for clients of the session's local stack, shared by the app, reliability and devstack tests.

Registered for the whole suite by tests/conftest.py; the stack itself comes from devstack.pytest_plugin.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devstack import LocalStack
from tests.support.clients import User


@pytest.fixture(scope="session")
def api(local_stack: LocalStack) -> Iterator[httpx.Client]:
    """The API as a client sees it: through nginx (the local ALB)."""
    with httpx.Client(base_url=local_stack.url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def new_user(api: httpx.Client) -> Callable[[str], User]:
    """Register a fresh user in a tenant and log in."""

    def make(tenant: str) -> User:
        email = f"user-{secrets.token_hex(6)}@example.com"
        password = "correct horse " + secrets.token_hex(4)
        creds = {"tenant": tenant, "email": email, "password": password}
        registered = api.post("/v1/auth/register", json=creds)
        assert registered.status_code == 201, registered.text
        token = api.post("/v1/auth/token", json=creds)
        assert token.status_code == 200, token.text
        return User(tenant, email, password, registered.json()["id"], token.json()["access_token"])

    return make


@pytest.fixture(scope="session")
def s3(local_stack: LocalStack) -> Any:
    """A boto3 S3 client of the stack's S3-compatible server (which checks no signature)."""
    import boto3  # here, not at the top: most test runs never need it

    return boto3.client(
        "s3",
        endpoint_url=local_stack.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",
    )
