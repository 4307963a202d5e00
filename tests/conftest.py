"""Suite-wide settings. Fixtures live next to the tests that use them; those that several folders use are in
tests/support (fixtures.py: clients of the local stack; stack_runs.py: offline runs of the stack files),
registered here."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.support.fixtures", "tests.support.stack_runs"]

# CI machines are shared and often loaded: a per-example deadline or a "too slow" health check would fail a
# correct property on a busy machine. Timings belong in benchmarks, not in tests.
settings.register_profile("nexus", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nexus")
