#!/usr/bin/env bash
# Set up everything the demo and the tests need, from the registries only; safe to run again (it skips what is
# already in place and matches the pinned versions).
#   .venv/          Python 3.12 venv with requirements-dev.txt (the newest ansible-core, pytest, ansible-lint, ...)
#   .matrix/        with --matrix: a venv per other supported ansible-core (tests/compat/cores.txt) and the old
#                   managed-host Pythons the smoke subset runs modules with (scripts/matrix.sh uses them)
#   node_modules/   the real authorization servers the tests start (npm oidc-provider, @node-oauth/oauth2-server)
#   ~/.ansible/test/cache   ansible-test's pip bootstrap, seeded offline (tools/ansible-test-offline)
#   redis-server, redis-sentinel   Debian's, for the shared token store's tests (started by the tests themselves)
set -euo pipefail
cd "$(dirname "$0")/.."

# The interpreters come from pyenv (the python3.X shims answer "command not found" unless selected: NOTES.md).
pyenv_python() {
  local python
  python="$(pyenv root 2>/dev/null)/versions/$1/bin/python"
  [ -x "$python" ] || { echo "setup: Python $1 is needed: pyenv install $1" >&2; exit 1; }
  echo "$python"
}

# make_venv DIR PYTHON REQUIREMENTS_FILE [EXTRA_PIN]: (re)create DIR unless it already holds exactly these pins.
make_venv() {
  local dir=$1 python=$2 requirements=$3 extra=${4:-}
  # Asked before anything is removed: a missing interpreter must not cost the venv that is there.
  local version
  version=$("$python" --version 2>&1) || { echo "setup: no Python for $dir: '$python'" >&2; return 1; }
  local wanted; wanted="$version $extra $(cat "$requirements")"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.tokenops-stamp" 2>/dev/null)" = "$wanted" ]; then
    return
  fi
  echo "setup: $dir ($version, $requirements${extra:+, $extra})"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" ${extra:+"$extra"}
  echo "$wanted" >"$dir/.tokenops-stamp"
}

# pip spends much of its time waiting on the registry: the venvs are made at once, and waited for below.
pids=()

# The default toolchain: the newest ansible-core, on a Python it supports (2.20+ needs 3.12+).
make_venv .venv "${PYTHON:-$(pyenv_python 3.12.1)}" requirements-dev.txt & pids+=($!)

# The compatibility matrix (--matrix, as scripts/test.sh asks): a controller venv per other supported ansible-core,
# and a managed-host venv (requests, no Ansible) per old Python the modules must run on.
if [ "${1:-}" = "--matrix" ]; then
  while read -r core controller target; do
    make_venv ".matrix/core-${core%.*}" "$(pyenv_python "$controller")" tests/compat/requirements-controller.txt \
      "ansible-core==$core" & pids+=($!)
  done < <(grep -v '^#' tests/compat/cores.txt)
  while read -r target; do
    make_venv ".matrix/target-${target%.*}" "$(pyenv_python "$target")" tests/compat/requirements-target.txt & pids+=($!)
  done < <(grep -v '^#' tests/compat/cores.txt | awk '{ print $3 }' | sort -u)
fi
for pid in "${pids[@]}"; do wait "$pid"; done

if [ ! -f node_modules/.tokenops-stamp ] || ! cmp -s package-lock.json node_modules/.tokenops-stamp; then
  command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
  echo "setup: npm ci (test authorization servers)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.tokenops-stamp
fi

# systemd-analyze verifies the units the schedule role renders (no running systemd needed).
if ! command -v systemd-analyze >/dev/null; then
  echo "setup: Debian systemd package (systemd-analyze)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi

# The shared token store's tests start real Redis servers and Sentinels on 127.0.0.1 (tests/servers/redis_launch.py).
if ! command -v redis-server >/dev/null || ! command -v redis-sentinel >/dev/null; then
  echo "setup: Debian redis-server and redis-sentinel (the shared token store's tests)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server redis-sentinel >/dev/null
fi

# Each ansible-test version bootstraps pip at its own version: seed the cache for every ansible-core in use.
for venv in .venv .matrix/core-*; do
  if [ -x "$venv/bin/ansible-test" ]; then
    bash tools/ansible-test-offline/setup_ansible_test_offline.sh "$venv/bin/python"
  fi
done
