#!/usr/bin/env bash
# Run the benchmarks of the performance goals (bench/README.md) with the project's venv Python: (a) and (b)
# fleet.py, (c) cache_hit.py and hit_call.py, (d) deliver_second_run.py, then what a worker pays to load the plugins
# and the single-flight count. Each starts the test authorization server it needs (tests/servers, via
# tests.servers.launch) on 127.0.0.1 and stops it when done. Needs scripts/setup.sh once. About 10 minutes on 2 quiet
# cores. lookup_requests.py and delivery.py (the lookup and the role against hand-written uri plays) are run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
started=$SECONDS
for bench in worker_imports fleet hit_call cache_hit deliver_second_run single_flight; do
    echo "== bench/$bench.py"
    before=$SECONDS
    "$python" "bench/$bench.py"
    echo "(bench/$bench.py: $((SECONDS - before)) s)"
done
# The delivery comparison at 50 hosts (a few minutes); the figures in bench/README.md are from --hosts 200.
echo "== bench/delivery.py --hosts ${DELIVERY_HOSTS:-50}"
"$python" bench/delivery.py --hosts "${DELIVERY_HOSTS:-50}"
# The shared token store (Redis) against private file caches, sized for run_all (a few minutes on 2 cores); the
# figures in bench/README.md are from the full size: --controller-hosts 50 --lookup-hosts 200 --rounds 3.
echo "== bench/shared_store.py --controller-hosts ${STORE_CONTROLLER_HOSTS:-10} --lookup-hosts ${STORE_LOOKUP_HOSTS:-40}"
"$python" bench/shared_store.py --controller-hosts "${STORE_CONTROLLER_HOSTS:-10}" \
    --lookup-hosts "${STORE_LOOKUP_HOSTS:-40}" --rounds "${STORE_ROUNDS:-1}"
echo "== all benchmarks: $((SECONDS - started)) s"
