#!/usr/bin/env bash
# Run Galaxy's importer (galaxy-importer, the checks Galaxy and Automation Hub run on upload) on a built collection
# tarball, without containers: ansible-doc on every plugin, ansible-lint, the metadata, file layout, README, changelog
# and licence checks; not ansible-test (the test command runs ansible-test sanity itself). The stricter Automation
# Hub settings are on: a version of 1.0.0 or later, and one of its required tags. Fails on any error or warning.
#   scripts/galaxy_importer.sh dist/tokenops-oauth2-X.Y.Z.tar.gz
set -euo pipefail
tarball=$(realpath "$1")
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/galaxy-importer.cfg" <<CFG
[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
CHECK_REQUIRED_TAGS = True
REQUIRE_V1_OR_GREATER = True
ANSIBLE_LOCAL_TMP = $work/ansible-tmp
CFG
# The importer writes importer_result.json into the current directory.
status=0
(cd "$work" && GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" python -m galaxy_importer.main "$tarball") \
  > "$work/output" 2>&1 || status=$?
cat "$work/output"
if [ "$status" -ne 0 ] || grep -qE '^(WARNING|ERROR|CRITICAL)' "$work/output"; then
  echo "galaxy-importer: the import of $(basename "$tarball") has errors or warnings (above)" >&2
  exit 1
fi
