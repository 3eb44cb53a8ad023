#!/usr/bin/env bash
# Two builds, each on SQLite and on PostgreSQL, in ONE `load.py suite` run beside the
# ceiling (issue 22): every ratio — new/old, PostgreSQL/SQLite — is taken between
# neighbouring runs of the same round.
#   bench/engines.sh OLD_CHECKOUT NEW_CHECKOUT postgresql://postgres@127.0.0.1:PORT [ROUNDS] [DURATION] [WORKERS]
# The databases fync_e_old and fync_e_new on that server are made afresh. Run the server
# with fsync on and synchronous_commit=off to compare with SQLite's synchronous=NORMAL.
# WORKERS (default 1) > 1 runs the PostgreSQL targets as N `fync serve` on one port
# (bench/serve_many.sh). On a machine with the cores for it, SERVER_CPUS=0-3 lets them spread over
# cores 0-3 (the suite pins every server to core 0 first; taskset may widen that),
# DRIVER_CPU=4 moves the driver, and PostgreSQL is pinned by starting it under
# `taskset -c 5-7 pg_ctl …`. On 2 cores: leave them unset (see bench/README.md).
set -euo pipefail
OLD=${1:?usage: bench/engines.sh OLD NEW postgresql://USER@HOST:PORT [ROUNDS] [DURATION] [WORKERS]}
NEW=${2:?}
SERVER=${3:?}
ROUNDS=${4:-3}
DURATION=${5:-5}
WORKERS=${6:-1}
BENCH=${BENCH:-/tmp/bench}
HERE=$(cd "$(dirname "$0")" && pwd)
for db in fync_e_old fync_e_new; do
  psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
CONFIG=$BENCH/run/engines-targets.json
"$NEW/.venv/bin/python" "$HERE/ab_targets.py" sq_old="$OLD" sq_new="$NEW" pg_old="$OLD" pg_new="$NEW" \
  --env-for "pg_old:FYNC_DATABASE_URL=$SERVER/fync_e_old" --env-for "pg_new:FYNC_DATABASE_URL=$SERVER/fync_e_new" \
  > "$CONFIG"
"$NEW/.venv/bin/python" - "$CONFIG" "$WORKERS" "${SERVER_CPUS:-}" <<'PY'
import json, sys
path, workers, cpus = sys.argv[1], int(sys.argv[2]), sys.argv[3]
config = json.load(open(path))
for name in ("pg_old", "pg_new"):
    target = config["targets"][name]
    if workers > 1:  # N processes on the target's port: each checkout needs bench/serve_many.sh
        target["start"] = ["sh", f"{target['cwd']}/bench/serve_many.sh", str(workers)]
    if cpus:
        target["start"] = ["taskset", "-c", cpus] + target["start"]
json.dump(config, open(path, "w"), indent=1)
PY
OUT=$BENCH/run/engines-$(date +%H%M).json
"$BENCH/.venv/bin/python" "$BENCH/load.py" --driver-cpu "${DRIVER_CPU:-1}" suite --config "$CONFIG" \
  --rounds "$ROUNDS" --duration "$DURATION" --warmup 2 --out "$OUT"
"$BENCH/.venv/bin/python" "$BENCH/load.py" summary "$OUT"
echo "raw results: $OUT"
