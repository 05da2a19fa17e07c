#!/usr/bin/env bash
# Stops the services scripts/start.sh started: SIGTERM first (each drains: in-flight requests
# finish, scoring acknowledges its batch, the reminder stops between batches), then SIGKILL for
# one that has not exited within RELANCE_STOP_GRACE_SECS (default 15). Says what it did.
set -uo pipefail
cd "$(dirname "$0")/.."
grace=${RELANCE_STOP_GRACE_SECS:-15}
found=
for pidfile in .run/*.pid; do
  [ -e "$pidfile" ] || continue
  found=1
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "$name: not running (pid $pid)"
    rm -f "$pidfile"
    continue
  fi
  kill -TERM "$pid" 2>/dev/null
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((grace * 10)) ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    echo "$name: killed (pid $pid) after ${grace} s without a graceful exit; see .run/$name.log"
  else
    echo "$name: stopped gracefully (pid $pid) in $(awk "BEGIN{printf \"%.1f\", $waited/10}") s"
  fi
  rm -f "$pidfile"
done
[ -n "$found" ] || echo "nothing to stop (no .run/*.pid)"
