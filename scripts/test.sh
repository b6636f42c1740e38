#!/usr/bin/env bash
# Run the whole test suite on the newest ansible-core: Ansible's own checks (ansible-test sanity, ansible-lint,
# changelog lint, the docs lint and build, Galaxy's importer), a build of the collection installed as a user does
# with the demo run from there, then the unit and integration tests (real ansible-playbook runs against real
# authorization servers and Redis on 127.0.0.1); then the compatibility matrix: sanity and the smoke subset on every
# other supported ansible-core (scripts/matrix.sh, tests/compat/cores.txt). Arguments go to the main pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --matrix
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1 PY_COLORS=0
started=$SECONDS
step() { echo "== $* (at $((SECONDS - started))s)"; }

work=$(mktemp -d)
trap 'kill "${sanity_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# ansible-test wants the collection at .../ansible_collections/tokenops/oauth2: copy what a clean clone holds. The
# docs lint gets a copy of its own, untouched by what ansible-test writes under tests/output meanwhile.
tree=$(python scripts/collection_tree.py "$work/src")
docs_tree=$(python scripts/collection_tree.py "$work/docs-src")
core=$(python -c 'import ansible; print(ansible.__version__)')
python_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# Sanity runs beside the checks below (each of them mostly keeps one core busy); its output is printed when it ends.
step "ansible-test sanity, ansible-core $core on Python $python_version (every test that runs without containers), in the background"
(cd "$tree" && ansible-test sanity --local --python "$python_version" --color no) >"$work/sanity.log" 2>&1 &
sanity_pid=$!

step "ansible-lint (production profile)"
ansible-lint --profile production --nocolor

step "antsibull-changelog lint"
antsibull-changelog lint

step "antsibull-docs lint-collection-docs (plugin, role and guide pages)"
(cd "$docs_tree" && antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
  --validate-collection-refs all --disallow-unknown-collection-refs .)

step "docs build (antsibull-docs + Sphinx, warnings are errors)"
bash scripts/docs.sh "$work/docs" >/dev/null

step "install as a user does (built tarball, clean collections path, fresh venv), run the demo from there"
bash scripts/try_installed.sh "$work/user"

step "Galaxy's importer on the built tarball (no container: ansible-lint, no ansible-test)"
bash scripts/galaxy_importer.sh "$work"/user/dist/tokenops-oauth2-*.tar.gz

step "ansible-test sanity's result"
sanity_status=0
wait "$sanity_pid" || sanity_status=$?
cat "$work/sanity.log"
[ "$sanity_status" = 0 ] || { echo "ansible-test sanity failed (exit $sanity_status)" >&2; exit "$sanity_status"; }

# Two pytest workers; the tests marked serial (a fixed port, a machine-wide resource, or a bound that other
# processes' load would blur) run after them, alone.
step "unit and integration tests, ansible-core $core (pytest -n 2, then the serial ones)"
python -m pytest tests -q -p no:cacheprovider -n 2 -m 'not serial' --durations=25 "$@"
python -m pytest tests -q -p no:cacheprovider -m serial "$@" || [ $? = 5 ]  # 5: no serial test selected

step "compatibility matrix"
bash scripts/matrix.sh

step "done"
