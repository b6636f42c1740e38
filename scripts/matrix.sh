#!/usr/bin/env bash
# The compatibility matrix: for every ansible-core in tests/compat/cores.txt (the supported versions besides the
# default toolchain's), ansible-test sanity with that core (its rules differ by version) and the smoke subset of the
# integration tests (pytest -m smoke: every plugin and both roles) with that core on the controller and modules run
# on the oldest managed-host Python that core and the collection support.
#
#   scripts/matrix.sh [CORE_PREFIX...]      e.g. scripts/matrix.sh 2.16 2.20; all of cores.txt by default
#
# Needs `scripts/setup.sh --matrix` (scripts/test.sh runs both). MATRIX_JOBS cores run at once (default 2: a
# core's run waits on playbooks and servers about as much as it computes). Each core's output is printed whole when
# it ends, then a table of the results and times.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The files holding smoke tests; pytest is given these only (the others may import what a matrix venv lacks).
mapfile -t smoke_files < <(grep -l '^@pytest.mark.smoke\|^pytestmark = pytest.mark.smoke' tests/integration/test_*.py)

cores=$(grep -v '^#' tests/compat/cores.txt | awk -v wanted="$*" '
  wanted == "" { print; next }
  { n = split(wanted, w, " "); for (i = 1; i <= n; i++) if (index($1, w[i]) == 1) { print; next } }')
[ -n "$cores" ] || { echo "matrix: no core in tests/compat/cores.txt matches: $*" >&2; exit 2; }

# One core: sanity in its own copy of the tree (ansible-test writes tests/output there), then the smoke subset.
# Prints its whole output at the end, and writes its line of the table to $work/CORE.result.
run_core() {
  local core=$1 controller=$2 target=$3
  local venv="$repo/.matrix/core-${core%.*}" target_python="$repo/.matrix/target-${target%.*}/bin/python"
  local log="$work/$core" sanity=ok smoke=ok tree start sanity_time smoke_time
  if [ ! -x "$venv/bin/ansible-test" ] || [ ! -x "$target_python" ]; then
    echo "$core | missing venv: run scripts/setup.sh --matrix" | tee "$work/$core.result"
    return 1
  fi
  tree=$(python3 scripts/collection_tree.py "$work/$core")
  start=$SECONDS
  (cd "$tree" && PATH="$venv/bin:$PATH" ansible-test sanity --local --python "${controller%.*}" --color no) \
    >"$log.sanity" 2>&1 || sanity=FAILED
  sanity_time=$((SECONDS - start))
  start=$SECONDS
  PATH="$venv/bin:$PATH" TOKENOPS_TARGET_PYTHON="$target_python" \
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -m smoke "${smoke_files[@]}" >"$log.smoke" 2>&1 || smoke=FAILED
  smoke_time=$((SECONDS - start))
  printf '%s | %s | %s | sanity %s, %ss | smoke %s, %ss: %s\n' "$core" "$controller" "$target" "$sanity" \
    "$sanity_time" "$smoke" "$smoke_time" "$(tail -n 1 "$log.smoke")" >"$work/$core.result"
  {
    echo "== ansible-core $core: ansible-test sanity on Python ${controller%.*}: $sanity"
    cat "$log.sanity"
    echo "== ansible-core $core: smoke subset, controller Python $controller, modules on Python $target: $smoke"
    cat "$log.smoke"
  } >"$log.all"
  cat "$log.all"
  [ "$sanity" = ok ] && [ "$smoke" = ok ]
}

start=$SECONDS
status=0
pids=()
while read -r core controller target; do
  while [ "$(jobs -rp | wc -l)" -ge "${MATRIX_JOBS:-2}" ]; do
    wait -n || true  # the exit status is collected below, by pid
  done
  run_core "$core" "$controller" "$target" &
  pids+=($!)
done <<<"$cores"
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
echo "== matrix: ansible-core | controller Python | managed-host Python | results and times"
cat "$work"/*.result
echo "== matrix: $((SECONDS - start))s in all"
exit $status
