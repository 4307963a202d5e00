"""Helpers shared by several test folders: imported as ``tests.support.<module>`` (never ``conftest``).

- ``waiting``: the one polling helper (``wait_until``) and waiting for a replica to replay;
- ``clients``: the API user the fixtures hand out;
- ``fixtures``: the fixtures for clients of the session's local stack (``api``, ``new_user``, ``s3``),
  registered for the whole suite by tests/conftest.py;
- ``harness``: runs of any stack file or config under the offline engine, and the stack files' config
  (``stack_config``, ``raw_stack_config``, ``with_changes``, ``PROJECT_NAME``);
- ``stack_runs``: the ``dev_run``, ``prod_run`` and ``stack_run`` fixtures, registered by tests/conftest.py;
- ``workloads``: runs of the real program read as Kubernetes manifests.
"""
