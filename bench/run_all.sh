#!/usr/bin/env bash
# Run every benchmark with the project's venv Python. Each one starts the test authorization server it needs
# (tests/servers, via tests.servers.launch) on 127.0.0.1 and stops it when done. Needs scripts/setup.sh once.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
for bench in lookup_requests single_flight cache_hit; do
    echo "== bench/$bench.py"
    "$python" "bench/$bench.py"
done
# The delivery comparison at 50 hosts (a few minutes); the figures in bench/README.md are from --hosts 200.
echo "== bench/delivery.py --hosts ${DELIVERY_HOSTS:-50}"
"$python" bench/delivery.py --hosts "${DELIVERY_HOSTS:-50}"
# The shared token store (Redis) against private file caches, sized for run_all (a few minutes on 2 cores); the
# figures in bench/README.md are from the full size: --controller-hosts 50 --lookup-hosts 200 --rounds 3.
echo "== bench/shared_store.py --controller-hosts ${STORE_CONTROLLER_HOSTS:-10} --lookup-hosts ${STORE_LOOKUP_HOSTS:-40}"
"$python" bench/shared_store.py --controller-hosts "${STORE_CONTROLLER_HOSTS:-10}" \
    --lookup-hosts "${STORE_LOOKUP_HOSTS:-40}" --rounds "${STORE_ROUNDS:-1}"
