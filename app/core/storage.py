"""S3 access through aiobotocore: objects live under each tenant's prefix."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import DependencyUnavailableError
from app.core.settings import StorageSettings

S3_ERRORS = (BotoCoreError, ClientError, OSError)


def tenant_prefix(tenant: str) -> str:
    return f"tenants/{tenant}/"


def attachment_key(tenant: str, document_id: str, attachment_id: str) -> str:
    return f"{tenant_prefix(tenant)}documents/{document_id}/attachments/{attachment_id}"


def export_key(tenant: str, job_id: str) -> str:
    return f"{tenant_prefix(tenant)}exports/{job_id}.jsonl"


class Storage:
    def __init__(self, client: Any, settings: StorageSettings):
        self._client = client
        self.bucket = settings.bucket
        self._presign_seconds = settings.presign_seconds

    async def put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            await self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except S3_ERRORS as exc:
            raise DependencyUnavailableError("object storage", code="storage_unavailable") from exc

    async def delete_many(self, keys: list[str]) -> None:
        if not keys:
            return
        await self._client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        )

    async def presign_get(self, key: str, filename: str | None = None) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = await self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self._presign_seconds
        )
        return url

    async def head_bucket(self) -> None:
        await self._client.head_bucket(Bucket=self.bucket)


async def open_storage(settings: StorageSettings, stack: AsyncExitStack) -> Storage:
    """Create the S3 client; `stack` closes it on shutdown."""
    session = get_session()
    config = AioConfig(
        connect_timeout=settings.timeout_seconds,
        read_timeout=settings.timeout_seconds,
        retries={"max_attempts": 2, "mode": "standard"},
        signature_version="s3v4",
        # Path-style keeps presigned URLs valid against a local S3-compatible server on 127.0.0.1.
        s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
    )
    client = await stack.enter_async_context(
        session.create_client(
            "s3", region_name=settings.region, endpoint_url=settings.endpoint_url, config=config
        )
    )
    return Storage(client, settings)
