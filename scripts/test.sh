#!/usr/bin/env bash
# Run the whole test suite: Ansible's own checks (ansible-test sanity, ansible-lint, changelog lint), a build of
# the collection installed into a clean path with the demo run from there, then the unit and integration tests
# (real ansible-playbook runs against real authorization servers on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1 PY_COLORS=0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ansible-test wants the collection at .../ansible_collections/tokenops/oauth2: copy what a clean clone holds.
tree="$work/src/ansible_collections/tokenops/oauth2"
mkdir -p "$tree"
python - "$tree" <<'PY'
import os, shutil, subprocess, sys
files = subprocess.run(['git', 'ls-files', '-z', '-co', '--exclude-standard'], capture_output=True, check=True).stdout
for path in filter(None, files.decode().split('\0')):
    if os.path.isfile(path) and not os.path.islink(path):
        os.makedirs(os.path.join(sys.argv[1], os.path.dirname(path)), exist_ok=True)
        shutil.copy2(path, os.path.join(sys.argv[1], path))
PY

echo "== ansible-test sanity (every test that runs without containers)"
(cd "$tree" && ansible-test sanity --local --python 3.11 --color no)

echo "== ansible-lint (production profile)"
ansible-lint --profile production --nocolor

echo "== antsibull-changelog lint"
antsibull-changelog lint

echo "== build, install into a clean path, run the demo from the installed collection"
ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
ansible-galaxy collection install --force -p "$work/installed" "$work"/dist/tokenops-oauth2-*.tar.gz >/dev/null
python demo/run.py --collections-path "$work/installed"

echo "== unit and integration tests"
python -m pytest tests -q -p no:cacheprovider "$@"
