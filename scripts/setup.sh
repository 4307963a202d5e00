#!/usr/bin/env bash
# Idempotent set-up on Debian: system packages the local stack and the tests need, then venv/.
# Called by `make setup` (and so by `make local`, `make test` and .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck: actionlint runs it over the workflows' run: scripts (tests/delivery/test_workflows.py).
# podman, buildah, mmdebstrap, runc, uidmap: `make image` and the image tests (devstack/image.py, docs/image.md).
APT_PACKAGES=(postgresql-15 postgresql-client-15 redis-server pgbouncer nginx wrk python3-venv shellcheck
  podman buildah mmdebstrap runc uidmap)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -q
  # The packaged services (nginx on :80, pgbouncer on :6432, a system Postgres) are not used: the project
  # starts its own instances on ports of its own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x venv/bin/python ]; then
  "$PY" -m venv venv
fi
stamp=venv/.requirements.sha
want=$(cat requirements.txt app/requirements.txt devstack/requirements.txt tests/reliability/requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  venv/bin/pip install -q --upgrade pip
  venv/bin/pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi
# checkov and cfn-lint pin versions that conflict with the project's (pulumi's protobuf, PyYAML), so each lives
# in a venv of its own under .tools/ (the tests call them there).
install_tool() {  # install_tool <venv dir> <requirements file>
  local dir=$1 requirements=$2 stamp want
  stamp=$dir/.requirements.sha
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
    "$dir/bin/pip" install -q -r "$requirements"
    echo "$want" > "$stamp"
  fi
}
install_tool .tools/checkov tests/tools-requirements.txt
install_tool .tools/cfn-lint tests/cfn-lint-requirements.txt
echo "setup: ready (venv/, .tools/checkov/, .tools/cfn-lint/)"
