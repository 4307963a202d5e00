"""Container image references, parsed the way registries and container runtimes parse them.

The grammar is the OCI distribution reference grammar, github.com/distribution/reference regexp.go
(``referencePat``: a name, then an optional ``:tag``, then an optional ``@digest``), written out here with the
same atoms; the registry is split off the name as its normalize.go ``splitDockerDomain`` does (the first path
component is a registry when it contains "." or ":" or is "localhost").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# distribution/reference regexp.go, atom by atom.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)

NAME_TOTAL_LENGTH_MAX = 255
"""distribution/reference reference.go ``NameTotalLengthMax``: a name (registry and repository) of at most
255 characters."""

EXAMPLE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/nexus-api:1.4.2@sha256:<64 hex digits>"


@dataclass(frozen=True)
class ImageReference:
    registry: str | None
    """``None`` for a name without a registry part (Docker Hub when pulled)."""
    repository: str
    tag: str | None
    digest: str | None


def parse_image_reference(text: str) -> ImageReference:
    """Parse ``[registry/]repository[:tag][@digest]``; ValueError saying what is wrong and what is valid."""
    match = REFERENCE.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not an image reference; use [registry/]repository[:tag][@digest] with a lowercase "
            f"repository, e.g. {EXAMPLE} (OCI distribution reference grammar)"
        )
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise ValueError(
            f"image name is {len(name)} characters; registry and repository together allow at most "
            f"{NAME_TOTAL_LENGTH_MAX}"
        )
    first, slash, rest = name.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost"):
        return ImageReference(registry=first, repository=rest, tag=tag, digest=digest)
    return ImageReference(registry=None, repository=name, tag=tag, digest=digest)


def prod_image_problems(image: str, *, is_prod: bool) -> list[str]:
    """prod runs an image by digest: a tag can be moved to other bytes (ECR's immutable tags are a setting of
    one repository, not a property of the reference), so what prod runs must be named by its content."""
    if not is_prod:
        return []
    try:
        reference = parse_image_reference(image)
    except ValueError:
        return []  # the section's own check reports it
    if reference.digest is not None:
        return []
    return [
        f"nexus:api.image: prod deploys an image by digest, never by a mutable tag; got {image!r}; use "
        f"<registry>/<repository>@sha256:<64 hex digits>, e.g. {EXAMPLE} (CI sets it per deploy: "
        "docs/operations.md)"
    ]
