"""docs/app.md's table of field limits says what the schemas and the routes enforce: each number of the table
is read from the code here, so that a changed limit without a changed table fails."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from app.auth.schemas import Credentials
from app.core.http import MAX_JSON_BODY_BYTES
from app.core.settings import ServerSettings
from app.documents.routes import DEFAULT_LIMIT, Limit
from app.documents.schemas import DocumentUpdate
from app.exports.routes import MAX_IDEMPOTENCY_KEY
from tests.support.harness import PROJECT_DIR

pytestmark = pytest.mark.unit


def _table() -> dict[str, str]:
    """The limit column of docs/app.md's field-limits table, by field."""
    text = (PROJECT_DIR / "docs" / "app.md").read_text()
    section = text.split("### Field limits", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("field", "---"):
            rows[cells[0].split("`")[1] if "`" in cells[0] else cells[0]] = cells[2]
    return rows


def _properties(struct: type[msgspec.Struct]) -> dict[str, Any]:
    schema = msgspec.json.schema(struct)
    definition = schema["$defs"][struct.__name__]
    properties: dict[str, Any] = definition["properties"]
    return properties


def test_every_field_of_the_table_matches_the_code() -> None:
    table = _table()
    credentials = _properties(Credentials)
    document = _properties(DocumentUpdate)
    limit = msgspec.json.schema(Limit)

    assert f"`{credentials['tenant']['pattern']}`" in table["tenant"]
    tenant = re.fullmatch(r"\^\[a-z0-9\]\[a-z0-9-\]\{0,(\d+)\}\$", credentials["tenant"]["pattern"])
    assert tenant is not None
    assert f"1-{1 + int(tenant.group(1))} characters" in table["tenant"]
    assert f"at most {credentials['email']['maxLength']} characters" in table["email"]
    assert "{1,64}@" in credentials["email"]["pattern"]
    assert "local part 1-64 characters" in table["email"]
    password = credentials["password"]
    assert table["password"] == f"{password['minLength']}-{password['maxLength']} characters"
    title = document["title"]
    assert table["title"].startswith(f"{title['minLength']}-{title['maxLength']} characters, no NUL")
    assert table["body"].startswith(f"at most {document['body']['maxLength']} characters, no NUL")
    assert title["pattern"] == document["body"]["pattern"] == r"^[^\x00]*$"
    version = document["version"]
    assert table["version"].startswith(f"an integer {version['minimum']}-{version['maximum']}")
    assert table["limit"] == f"{limit['minimum']}-{limit['maximum']}, default {DEFAULT_LIMIT}"
    assert table["Idempotency-Key"] == f"1-{MAX_IDEMPOTENCY_KEY} characters"
    upload_default = ServerSettings.model_fields["max_upload_bytes"].default
    assert f"({upload_default} by default; `413` above it)" in table["file"]
    assert table["any JSON body"] == f"{MAX_JSON_BODY_BYTES} bytes (`413` above it)"


def test_the_table_lists_each_field_once() -> None:
    text = (PROJECT_DIR / "docs" / "app.md").read_text()
    section = text.split("### Field limits", 1)[1].split("\n#", 1)[0]
    lines = section.splitlines()
    rows = [line for line in lines if line.startswith("| ") and line[2:5] not in ("fie", "---")]
    assert len(rows) == len(_table()) == 10


def test_the_environment_table_lists_each_variable_once() -> None:
    text = (PROJECT_DIR / "docs" / "app.md").read_text()
    section = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    names = [
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_<>]+)`", line.split("|")[1])
    ]
    assert names, "the table was found"
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
