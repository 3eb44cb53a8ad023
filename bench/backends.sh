#!/usr/bin/env bash
# SQLite with one process against PostgreSQL with one and with several `fync serve`
# processes on one port (bench/serve_many.sh), each in one `load.py suite` run beside
# the ceiling and the Authlib peer (issue 12).
#   bench/backends.sh postgresql://postgres@127.0.0.1:5432   [ROUNDS] [DURATION] [PROCESSES]
# The PostgreSQL database `fync_bench` on that server is dropped and made afresh
# before each PostgreSQL run. Results: /tmp/bench/run/backend-*.json.
set -euo pipefail
SERVER=${1:?usage: bench/backends.sh postgresql://USER@HOST:PORT [ROUNDS] [DURATION] [PROCESSES]}
ROUNDS=${2:-3}
DURATION=${3:-5}
PROCESSES=${4:-2}
BENCH=${BENCH:-/tmp/bench}
PROJECT=$(cd "$(dirname "$0")/.." && pwd)
suite() {  # NAME TARGETS-FILE, then environment for the fync target
  local name=$1 targets=$2
  shift 2
  env "$@" "$BENCH/.venv/bin/python" "$BENCH/load.py" suite --config "$targets" --project "$PROJECT" \
    --rounds "$ROUNDS" --duration "$DURATION" --warmup 2 --out "$BENCH/run/backend-$name.json"
}
fresh_database() {
  psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS fync_bench WITH (FORCE)" -c "CREATE DATABASE fync_bench"
}
several() {  # the shared targets file, with the fync target started as N processes on its port
  "$BENCH/.venv/bin/python" -c '
import json, sys
config = json.load(open(sys.argv[1]))
config["targets"]["fync"]["start"] = ["{project}/bench/serve_many.sh", sys.argv[2]]
print(json.dumps(config, indent=1))' "$BENCH/targets.json" "$1" > "$BENCH/run/targets-fync-$1.json"
  echo "$BENCH/run/targets-fync-$1.json"
}
suite sqlite-1 "$BENCH/targets.json"
fresh_database && suite pg-1 "$BENCH/targets.json" FYNC_DATABASE_URL="$SERVER/fync_bench"
fresh_database && suite "pg-$PROCESSES" "$(several "$PROCESSES")" FYNC_DATABASE_URL="$SERVER/fync_bench"
for name in sqlite-1 pg-1 "pg-$PROCESSES"; do
  echo "== $name"; "$BENCH/.venv/bin/python" "$BENCH/load.py" summary "$BENCH/run/backend-$name.json"
done
