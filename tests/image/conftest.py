"""Fixtures of the image tests: the API image, built (or found in podman's store) once per session."""

from __future__ import annotations

import sys

import pytest

from devstack.image import Built, build, image_size_bytes


@pytest.fixture(scope="session")
def api_image() -> Built:
    """``make image``'s build: the base and the image, each rebuilt only when its inputs changed."""
    built = build(log=lambda message: print(f"image: {message}", file=sys.stderr))
    what = "built" if built.built_image else "cached"
    print(
        f"image: {built.image} {what} in {built.seconds:.1f} s, {image_size_bytes(built.image) / 1e6:.0f} MB"
    )
    return built
