#!/usr/bin/env bash
# Idempotent set-up on Debian: system packages the local stack and the tests need, then venv/.
# Called by `make setup` (and so by `make local`, `make test` and .ci/run).
# Prints one line per phase; the full output of every phase goes to the log it names ($NEXUS_SETUP_LOG,
# default .setup.log), and a failing phase prints the last lines of it.
set -euo pipefail
cd "$(dirname "$0")/.."

LOG=${NEXUS_SETUP_LOG:-.setup.log}
: >"$LOG"
NOTE=$(mktemp)
trap 'rm -f "$NOTE"' EXIT

note() {  # note <text>: what the running phase reports on its line
  echo "$*" >"$NOTE"
}

phase() {  # phase <name> <function> [args]: run it with its output in the log, print one line
  local name=$1 began=$SECONDS status
  shift
  : >"$NOTE"
  printf '\n== %s: %s\n' "$(date -u +%H:%M:%S)" "$name" >>"$LOG"
  # Not in an `if`: there set -e would be ignored inside the phase too.
  set +e
  (set -euo pipefail; "$@") >>"$LOG" 2>&1
  status=$?
  set -e
  if [ "$status" -ne 0 ]; then
    echo "setup: $name failed (status $status); the last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit "$status"
  fi
  echo "setup: $name: $(cat "$NOTE") ($((SECONDS - began))s)"
}

# The shellcheck package: actionlint runs it over the workflows' run: scripts (tests/delivery/test_workflows.py).
# podman, buildah, mmdebstrap, runc, uidmap: `make image` and the image tests (devstack/image.py, docs/image.md).
# jq: the tenant move Job's filter (docs/tenant-move-job.jq, docs/shards.md) and its test.
APT_PACKAGES=(postgresql-15 postgresql-client-15 redis-server pgbouncer nginx wrk python3-venv shellcheck
  podman buildah mmdebstrap runc uidmap jq)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

system_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    note "${#APT_PACKAGES[@]} present"
    return
  fi
  as_root apt-get update -q
  # The packaged services (nginx on :80, pgbouncer on :6432, a system Postgres) are not used: the project
  # starts its own instances on ports of its own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  note "installed ${missing[*]}"
}

PY=${PYTHON:-python3}

python_venv() {
  if [ -x venv/bin/python ]; then
    note "venv/ present ($(venv/bin/python --version))"
    return
  fi
  "$PY" -m venv venv
  note "created venv/ ($(venv/bin/python --version))"
}

python_requirements() {
  local stamp=venv/.requirements.sha want
  want=$(cat requirements.txt app/requirements.txt devstack/requirements.txt tests/reliability/requirements.txt \
    | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    note "up to date"
    return
  fi
  venv/bin/pip install --upgrade pip
  venv/bin/pip install -r requirements.txt
  echo "$want" >"$stamp"
  note "installed requirements.txt"
}

# checkov and cfn-lint pin versions that conflict with the project's (pulumi's protobuf, PyYAML), so each lives
# in a venv of its own under .tools/ (the tests call them there).
install_tool() {  # install_tool <venv dir> <requirements file>
  local dir=$1 requirements=$2 stamp want
  stamp=$dir/.requirements.sha
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    note "$dir/ up to date"
    return
  fi
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  "$dir/bin/pip" install -r "$requirements"
  echo "$want" >"$stamp"
  note "installed $requirements into $dir/"
}

echo "setup: full output in $LOG"
phase "system packages" system_packages
phase "python venv" python_venv
phase "python requirements" python_requirements
phase "checkov" install_tool .tools/checkov tests/tools-requirements.txt
phase "cfn-lint" install_tool .tools/cfn-lint tests/cfn-lint-requirements.txt
echo "setup: ready (venv/, .tools/checkov/, .tools/cfn-lint/)"
