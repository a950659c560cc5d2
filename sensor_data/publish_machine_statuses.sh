#!/usr/bin/env bash
# Publishes the next 500 statuses each time you type 'more'; 'quit' or Ctrl+D ends it.
# Options are passed on: --source FILE.csv, --seed N, --url URL, -T SECONDS, -o OFFSET.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_python.sh"
exec "$python" -m mlops_demo publish statuses --interactive "$@"
