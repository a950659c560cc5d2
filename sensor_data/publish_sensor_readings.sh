#!/usr/bin/env bash
# Publishes the next 500 readings each time you type 'more'; 'quit' or Ctrl+D ends it.
# Options are passed on: --source FILE.csv, --seed N, --url URL, -T SECONDS, -o OFFSET,
# --scenario torque-sensor-drift (readings that drift; see docs/simulator.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_python.sh"
exec "$python" -m mlops_demo publish readings --interactive "$@"
