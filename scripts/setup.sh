#!/usr/bin/env bash
# Set up everything the demo and the tests need, from the registries only; safe to run again (it skips what is
# already in place and matches the pinned versions).
#   .venv/          Python 3.11 venv with requirements-dev.txt (ansible-core, pytest, ansible-lint, ...)
#   node_modules/   the real authorization servers the tests start (npm oidc-provider, @node-oauth/oauth2-server)
#   ~/.ansible/test/cache   ansible-test's pip bootstrap, seeded offline (tools/ansible-test-offline)
#   redis-server, redis-sentinel   Debian's, for the shared token store's tests (started by the tests themselves)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
stamp=.venv/.requirements-dev.txt
if [ ! -x .venv/bin/python ] || ! cmp -s requirements-dev.txt "$stamp"; then
  echo "setup: Python venv (.venv) from requirements-dev.txt"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  cp requirements-dev.txt "$stamp"
fi

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

if ! ls ~/.ansible/test/cache/get_pip_*.py >/dev/null 2>&1; then
  echo "setup: seeding ansible-test's pip bootstrap for offline use"
  bash tools/ansible-test-offline/setup_ansible_test_offline.sh .venv/bin/python
fi
