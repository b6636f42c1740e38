#!/usr/bin/env bash
# Set everything up, then run the demo playbook against a local authorization server it starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python demo/run.py "$@"
