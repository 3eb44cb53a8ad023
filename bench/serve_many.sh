#!/usr/bin/env bash
# N `fync serve` processes sharing one port, as N systemd instances of fync@.service
# would (PostgreSQL only: they bind with SO_REUSEPORT), under one parent so the bench
# harness can measure and stop them as one server. SIGTERM or SIGINT is passed to each;
# the script exits once all have stopped.
#   bench/serve_many.sh N [fync serve options]      (configured by the environment: FYNC_*)
set -u
count=${1:?usage: bench/serve_many.sh N [fync serve options]}
shift
fync=$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/fync
"$fync" migrate >/dev/null || exit 1  # once, before they start together (docs/deploy.md)
pids=()
for _ in $(seq "$count"); do
  "$fync" serve "$@" &
  pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM INT
wait  # returns when a trapped signal arrives, or once every process has exited
wait  # let them finish their requests
