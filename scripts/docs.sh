#!/usr/bin/env bash
# Build the documentation site the way Ansible collections publish theirs: antsibull-docs writes the plugin and role
# pages (from DOCUMENTATION blocks and meta/argument_specs.yml) and the guides (docs/docsite/) as RST into a Sphinx
# project, and Sphinx builds HTML with warnings as errors.
#   scripts/docs.sh [DEST]     default build/docs; the site is DEST/build/html/index.html
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

dest=${1:-build/docs}
# DEST is rebuilt from scratch: refuse to wipe a directory that is not an earlier build of this script.
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ] && [ ! -f "$dest/antsibull-docs.cfg" ]; then
  echo "docs: $dest exists and is not a docs build; give another DEST" >&2
  exit 2
fi
rm -rf "$dest"
mkdir -p "$dest"
chmod 0755 "$dest"  # antsibull-docs wants a directory only its owner can write

# antsibull-docs finds the collection the way ansible-doc does: in a collections path, as ansible_collections/NS/NAME.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/ansible_collections/tokenops"
ln -s "$PWD" "$tree/ansible_collections/tokenops/oauth2"
export ANSIBLE_COLLECTIONS_PATH="$tree"

antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$dest" \
  --project tokenops.oauth2 --copyright "tokenops engineers" --title "tokenops.oauth2" tokenops.oauth2 >/dev/null
# Offline: Sphinx must not download the intersphinx inventories of docs.python.org and docs.ansible.com; the few
# references to the Ansible docs that the generated pages hold are resolved by tools/docs/ansible_docsite_refs.py.
python - "$dest/conf.py" "$PWD/tools/docs" <<'PY'
import sys
with open(sys.argv[1], 'a') as conf:
    conf.write('\nimport sys\nintersphinx_mapping = {}\nsys.path.insert(0, %r)\n'
               "extensions.append('ansible_docsite_refs')\n" % sys.argv[2])
PY
bash "$dest/build.sh"
echo "docs: $dest/build/html/index.html"
