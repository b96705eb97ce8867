#!/usr/bin/env bash
# Python clients (confluent-kafka, kafka-python, aiokafka) against a running Sluice broker.
# Usage: compat/python/run.sh HOST:PORT        (after compat/python/install.sh; offline)
# Prints one RESULT|python|<client>|<version>|<scenario>|PASS/FAIL|<note> line per scenario
# on stdout (progress and client logs of failed scenarios go to stderr). Exits non-zero if a
# scenario listed in compat/python/allow did not pass.
# PY_COMPAT_DEBUG=1 adds librdkafka's protocol debug log; PY_COMPAT_LOG_DIR keeps the logs.
set -uo pipefail
BOOTSTRAP="${1:?usage: run.sh HOST:PORT}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="$HERE/.venv/bin/python"
[ -x "$PY" ] || { echo "compat/python: not installed; run compat/python/install.sh" >&2; exit 2; }
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PY_COMPAT_LOG_DIR="${PY_COMPAT_LOG_DIR:-$WORK/logs}"
CLIENTS="confluent-kafka:scenarios_confluent.py kafka-python:scenarios_kafka_python.py aiokafka:scenarios_aiokafka.py"

# fail_missing CLIENT OUTFILE NOTE: a FAIL line for each allowlisted scenario of CLIENT that
# printed no RESULT (the script crashed or was killed, or never ran).
fail_missing() {
  grep -v '^[[:space:]]*#' "$HERE/allow" | grep "^$1|" | while IFS='|' read -r _ scenario; do
    scenario="${scenario%%[[:space:]#]*}"
    grep -q "^RESULT|python|$1|[^|]*|$scenario|" "$2" 2>/dev/null \
      || echo "RESULT|python|$1|unknown|$scenario|FAIL|$3"
  done
}

# A broker that is not there would make every scenario wait for its client's timeouts.
if ! "$PY" -c 'import socket, sys; h, p = sys.argv[1].rsplit(":", 1); socket.create_connection((h, int(p)), 5).close()' \
     "$BOOTSTRAP" 2>/dev/null; then
  echo "compat/python: no broker answers at $BOOTSTRAP" >&2
  for pair in $CLIENTS; do fail_missing "${pair%%:*}" /dev/null "no broker answers at $BOOTSTRAP"; done
  exit 1
fi

STATUS=0
for pair in $CLIENTS; do
  client="${pair%%:*}" script="${pair#*:}"
  # Each scenario has its own timeout inside the script; this one only guards the whole script.
  timeout -k 10 300 "$PY" "$HERE/$script" "$BOOTSTRAP" | tee "$WORK/$client.out"
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || { echo "compat/python: $script exited $rc" >&2; STATUS=1; }
  fail_missing "$client" "$WORK/$client.out" "no result: $script exited $rc"
done
exit $STATUS
