#!/usr/bin/env bash
# SQLite with one process against PostgreSQL with one and with two worker processes,
# each in one `load.py suite` run beside the ceiling and the Authlib peer (issue 12).
#   bench/backends.sh postgresql://postgres@127.0.0.1:5432   [ROUNDS] [DURATION]
# The PostgreSQL database `fync_bench` on that server is dropped and made afresh
# before each PostgreSQL run. Results: /tmp/bench/run/backend-*.json.
set -euo pipefail
SERVER=${1:?usage: bench/backends.sh postgresql://USER@HOST:PORT [ROUNDS] [DURATION]}
ROUNDS=${2:-3}
DURATION=${3:-5}
BENCH=${BENCH:-/tmp/bench}
PROJECT=$(cd "$(dirname "$0")/.." && pwd)
suite() {  # NAME, then environment for the fync target
  local name=$1; shift
  env "$@" "$BENCH/.venv/bin/python" "$BENCH/load.py" suite --project "$PROJECT" \
    --rounds "$ROUNDS" --duration "$DURATION" --warmup 2 --out "$BENCH/run/backend-$name.json"
}
fresh_database() {
  psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS fync_bench WITH (FORCE)" -c "CREATE DATABASE fync_bench"
}
suite sqlite-1
fresh_database && suite pg-1 FYNC_DATABASE_URL="$SERVER/fync_bench"
fresh_database && suite pg-2 FYNC_DATABASE_URL="$SERVER/fync_bench" FYNC_SERVER_WORKERS=2
for name in sqlite-1 pg-1 pg-2; do
  echo "== $name"; "$BENCH/.venv/bin/python" "$BENCH/load.py" summary "$BENCH/run/backend-$name.json"
done
