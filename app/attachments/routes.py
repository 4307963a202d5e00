from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from app.attachments import service
from app.attachments.schemas import Attachment, AttachmentWithUrl
from app.auth.deps import current_principal, services
from app.core.errors import ApiError
from app.core.http import RouteSpec, json_response

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the upload is larger than {limit} bytes")


def _limited(receive: Receive, limit: int) -> Receive:
    """Stop reading the body as soon as it exceeds the limit (Content-Length may be absent or wrong)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit - MULTIPART_OVERHEAD)
        return message

    return wrapped


async def upload(request: Request) -> Response:
    principal = current_principal(request)
    limit = services(request).settings.server.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise _too_large(limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(422, "invalid_request", "send the file as multipart/form-data in the field `file`")
    bounded = Request(request.scope, _limited(request.receive, limit + MULTIPART_OVERHEAD))
    try:
        form = await bounded.form(max_files=1, max_fields=10)
    except HTTPException as exc:
        # Starlette reports a malformed or oversized multipart body as 400; the API speaks 422 for bad input.
        raise ApiError(422, "invalid_request", f"multipart body: {exc.detail}") from exc
    try:
        # The OpenAPI document says `additionalProperties: false`: the one field is `file`.
        extra = sorted({key for key in form if key != "file"})
        if extra:
            raise ApiError(
                422, "invalid_request", f"unexpected multipart fields {extra[:3]}: send only `file`"
            )
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise ApiError(422, "invalid_request", "the multipart field `file` is missing")
        data = await upload_file.read(limit + 1)
        if len(data) > limit:
            raise _too_large(limit)
        attachment = await service.create(
            services(request),
            principal,
            request.path_params["doc_id"],
            upload_file.filename,
            upload_file.content_type,
            data,
        )
    finally:
        await form.close()  # spooled temporary files go away now, not at garbage collection
    return json_response(attachment, 201)


async def get(request: Request) -> Response:
    principal = current_principal(request)
    result = await service.get(
        services(request), principal, request.path_params["doc_id"], request.path_params["attachment_id"]
    )
    return json_response(result)


ROUTES = (
    RouteSpec(
        "POST",
        "/v1/documents/{doc_id}/attachments",
        upload,
        "Upload an attachment (multipart `file`)",
        "attachments",
        {201: Attachment},
        multipart=True,
        errors=(401, 404, 413, 422, 503),
    ),
    RouteSpec(
        "GET",
        "/v1/documents/{doc_id}/attachments/{attachment_id}",
        get,
        "Attachment metadata with a short-lived download URL",
        "attachments",
        {200: AttachmentWithUrl},
        errors=(401, 404, 503),
    ),
)
