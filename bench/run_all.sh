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
echo "== all benchmarks: $((SECONDS - started)) s"
