#!/usr/bin/env bash
# Run the benchmarks of the four fleet goals (bench/README.md) with the project's venv Python: what a worker pays
# to load the plugins, (a) and (b) fleet.py, (c) hit_call.py, (d) deliver_second_run.py, each with 2 alternating
# rounds (BENCH_PAIRS). About 9 minutes on 2 quiet cores. Each starts the test authorization server it needs
# (tests/servers, via tests.servers.launch) on 127.0.0.1 and stops it when done. Needs scripts/setup.sh once.
#
#   bench/run_all.sh           the four goals
#   bench/run_all.sh --all     then also the cache-hit shapes, single flight, the delivery comparison at 50 hosts
#                              and the shared store at a reduced size (about 8 minutes more)
#
# lookup_requests.py, and delivery.py and shared_store.py at full size, are run by hand (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
pairs=${BENCH_PAIRS:-2}
started=$SECONDS

bench() {
    local script=$1 before=$SECONDS
    shift
    echo "== bench/$script $*"
    "$python" "bench/$script" "$@"
    echo "(bench/$script: $((SECONDS - before)) s)"
}

bench worker_imports.py
bench fleet.py --pairs "$pairs"
bench hit_call.py
bench deliver_second_run.py --pairs "$pairs"
if [ "${1:-}" = "--all" ]; then
    bench cache_hit.py
    bench single_flight.py
    # The figures in bench/README.md are from --hosts 200.
    bench delivery.py --hosts "${DELIVERY_HOSTS:-50}"
    # The figures in bench/README.md are from the full size: --controller-hosts 50 --lookup-hosts 200 --rounds 3.
    bench shared_store.py --controller-hosts "${STORE_CONTROLLER_HOSTS:-10}" \
        --lookup-hosts "${STORE_LOOKUP_HOSTS:-40}" --rounds "${STORE_ROUNDS:-1}"
fi
echo "== all benchmarks: $((SECONDS - started)) s"
