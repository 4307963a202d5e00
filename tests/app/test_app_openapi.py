"""The OpenAPI document generated from the route specs is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import msgspec
import pytest
from openapi_spec_validator import validate

from app.core.openapi import build_openapi
from app.main import ALL_ROUTES, API_VERSION

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    # Through JSON, as clients receive it.
    raw = msgspec.json.encode(build_openapi(ALL_ROUTES, "NexusAPI", API_VERSION))
    return msgspec.json.decode(raw)  # type: ignore[no-any-return]


def test_document_validates(document: dict[str, object]) -> None:
    validate(document)  # raises on an invalid document


def test_every_route_is_described(document: dict[str, object]) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    described = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert described == {(spec.method, spec.path) for spec in ALL_ROUTES}
    assert ("POST", "/v1/documents/{doc_id}/attachments") in described


def test_authenticated_operations_require_bearer(document: dict[str, object]) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    get_doc = paths["/v1/documents/{doc_id}"]["get"]
    assert get_doc["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/v1/auth/token"]["post"]
    assert set(get_doc["responses"]) == {"200", "401", "404", "503"}


def test_schemas_come_from_the_msgspec_types(document: dict[str, object]) -> None:
    schemas = document["components"]["schemas"]  # type: ignore[index]
    doc_schema = schemas["Document"]
    assert set(doc_schema["required"]) == {"id", "title", "body", "version", "created_at", "updated_at"}
    assert doc_schema["properties"]["created_at"] == {"type": "string", "format": "date-time"}
    assert schemas["DocumentIn"]["properties"]["title"]["maxLength"] == 200
    assert schemas["AccessToken"]["properties"]["token_type"] == {"enum": ["bearer"]}
