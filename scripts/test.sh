#!/usr/bin/env bash
# Runs the whole test suite. PostgreSQL and Redis are started when installed but stopped;
# with CI=true their tests are required, elsewhere they are skipped with a clear line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system_deps.sh
source scripts/services.sh
ensure_services
exec .venv/app/bin/python -m pytest "$@"
