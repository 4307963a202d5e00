"""Helpers shared by several test folders: imported as ``tests.support.<module>`` (never ``conftest``).

- ``waiting``: the one polling helper (``wait_until``) and waiting for a replica to replay;
- ``clients``: the API user the fixtures hand out;
- ``fixtures``: the fixtures for clients of the session's local stack (``api``, ``new_user``, ``s3``),
  registered for the whole suite by tests/conftest.py.
"""
