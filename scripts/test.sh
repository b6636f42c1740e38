#!/usr/bin/env bash
# Run the whole test suite: Ansible's own checks (ansible-test sanity, ansible-lint, changelog lint), a build of
# the collection installed into a clean path with the demo run from there, then the unit and integration tests
# (real ansible-playbook runs against real authorization servers on 127.0.0.1), all on the newest ansible-core;
# then the compatibility matrix: sanity and the smoke subset on every other supported ansible-core
# (scripts/matrix.sh, tests/compat/cores.txt). Arguments go to the main pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --matrix
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1 PY_COLORS=0
started=$SECONDS
step() { echo "== $* (at $((SECONDS - started))s)"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ansible-test wants the collection at .../ansible_collections/tokenops/oauth2: copy what a clean clone holds.
tree=$(python scripts/collection_tree.py "$work/src")
core=$(python -c 'import ansible; print(ansible.__version__)')
python_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

step "ansible-test sanity, ansible-core $core on Python $python_version (every test that runs without containers)"
(cd "$tree" && ansible-test sanity --local --python "$python_version" --color no)

step "ansible-lint (production profile)"
ansible-lint --profile production --nocolor

step "antsibull-changelog lint"
antsibull-changelog lint

step "build, install into a clean path, run the demo from the installed collection"
ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
ansible-galaxy collection install --force -p "$work/installed" "$work"/dist/tokenops-oauth2-*.tar.gz >/dev/null
python demo/run.py --collections-path "$work/installed"

# Two pytest workers; the tests marked serial (a fixed port, a machine-wide resource, or a bound that other
# processes' load would blur) run after them, alone.
step "unit and integration tests, ansible-core $core (pytest -n 2, then the serial ones)"
python -m pytest tests -q -p no:cacheprovider -n 2 -m 'not serial' "$@"
python -m pytest tests -q -p no:cacheprovider -m serial "$@" || [ $? = 5 ]  # 5: no serial test selected

step "compatibility matrix"
bash scripts/matrix.sh

step "done"
