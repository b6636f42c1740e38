#!/usr/bin/env bash
# Run the whole test suite: Ansible's own checks (ansible-test sanity, ansible-lint, changelog lint, the docs lint
# and build, Galaxy's importer), a build of the collection installed as a user does with the demo run from there,
# then the unit and integration tests (real ansible-playbook runs against real authorization servers on 127.0.0.1).
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

echo "== antsibull-docs lint-collection-docs (plugin, role and guide pages)"
(cd "$tree" && antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
  --validate-collection-refs all --disallow-unknown-collection-refs .)

echo "== docs build (antsibull-docs + Sphinx, warnings are errors)"
bash scripts/docs.sh "$work/docs" >/dev/null

echo "== install as a user does (built tarball, clean collections path, fresh venv), run the demo from there"
bash scripts/try_installed.sh "$work/user"

echo "== Galaxy's importer on the built tarball (no container: ansible-lint, no ansible-test)"
bash scripts/galaxy_importer.sh "$work"/user/dist/tokenops-oauth2-*.tar.gz

echo "== unit and integration tests"
python -m pytest tests -q -p no:cacheprovider "$@"
