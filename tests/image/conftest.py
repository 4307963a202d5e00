"""Fixtures of the image tests: the API image, built (or found in podman's store) once per session."""

from __future__ import annotations

import os
import sys

import pytest

from devstack.image import Built, build, image_id, image_size_bytes


@pytest.fixture(scope="session")
def api_image() -> Built:
    """``make image``'s build: the base and the image, each rebuilt only when its inputs changed; in CI, the
    image that BuildKit built for release, loaded from $NEXUS_IMAGE_ARCHIVE."""
    built = build(log=lambda message: print(f"image: {message}", file=sys.stderr))
    what = "built" if built.built_image else "cached or loaded"
    expected = os.environ.get("EXPECTED_IMAGE_ID")
    if expected:  # CI: the archive must hold the image that the image job built
        assert image_id(built.image) == expected, f"loaded {image_id(built.image)}, built {expected}"
    size = image_size_bytes(built.image) / 1e6
    print(f"image: {built.image} ({image_id(built.image)}) {what} in {built.seconds:.1f} s, {size:.0f} MB")
    return built
