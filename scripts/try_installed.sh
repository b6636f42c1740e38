#!/usr/bin/env bash
# Install the collection as a user does and run the demo against that install:
#   1. ansible-galaxy collection build, then install the tarball into a clean collections path;
#   2. a fresh virtual environment with ansible-core and the collection's requirements.txt (from the install);
#   3. demo/run.py in that environment, with the installed collection (the demo's server comes from this checkout).
#   scripts/try_installed.sh [WORKDIR]   WORKDIR keeps dist/ (the tarball), installed/ and venv/; default: a
#                                        temporary directory, removed at the end
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# The interpreter the dev venv was made from (setup.sh picks one the pinned ansible-core supports).
PYTHON=${PYTHON:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)')}
if [ $# -gt 0 ]; then
  work=$1
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/dist" "$work/installed" "$work/venv"

.venv/bin/ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/tokenops-oauth2-*.tar.gz)
ANSIBLE_COLLECTIONS_PATH="$work/installed" .venv/bin/ansible-galaxy collection install -p "$work/installed" "$tarball" \
  >/dev/null
echo "installed $(basename "$tarball") into $work/installed"

# The ansible-core the suite is pinned to; the collection's own Python requirements as its install ships them.
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$(grep '^ansible-core==' requirements-dev.txt)"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check \
  -r "$work/installed/ansible_collections/tokenops/oauth2/requirements.txt"
echo "fresh venv: $("$work/venv/bin/python" -m pip freeze --disable-pip-version-check | tr '\n' ' ')"

"$work/venv/bin/python" demo/run.py --collections-path "$work/installed"
