"""Fixtures of the reliability and security tests: the session's local stack as clients see it.

Every fixture shares the one stack started by ``devstack.pytest_plugin``; tests that break a service
restore it before they return (see ``rel_support.repair``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from rel_support import Account

from devstack import LocalStack


@pytest.fixture(scope="session")
def rel_api(local_stack: LocalStack) -> Iterator[httpx.Client]:
    """The API through nginx (the local ALB)."""
    with httpx.Client(base_url=local_stack.url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def account(rel_api: httpx.Client) -> Callable[[str], Account]:
    """Register a fresh user in a tenant and log in."""

    def make(tenant: str) -> Account:
        creds = {
            "tenant": tenant,
            "email": f"rel-{secrets.token_hex(6)}@example.com",
            "password": "reliable horse " + secrets.token_hex(4),
        }
        registered = rel_api.post("/v1/auth/register", json=creds)
        assert registered.status_code == 201, registered.text
        token = rel_api.post("/v1/auth/token", json=creds)
        assert token.status_code == 200, token.text
        return Account(tenant, creds["email"], registered.json()["id"], token.json()["access_token"])

    return make


@pytest.fixture(scope="session")
def rel_s3(local_stack: LocalStack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=local_stack.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",
    )
