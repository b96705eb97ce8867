#!/usr/bin/env bash
# kafkajs against a running Sluice broker. Usage: compat/node/run.sh HOST:PORT
# Prints one RESULT|node|kafkajs|<version>|<scenario>|PASS/FAIL|<note> line per scenario on
# stdout (kafkajs' own log goes to stderr); exits non-zero if a scenario listed in ./allow failed.
# Offline: needs ./install.sh to have run (node_modules).
set -uo pipefail

BOOTSTRAP="${1:?usage: run.sh HOST:PORT}"
HERE="$(cd "$(dirname "$0")" && pwd)"
SCENARIO_TIMEOUT="${SCENARIO_TIMEOUT:-60}"
command -v node >/dev/null || { echo "node: not installed" >&2; exit 2; }
[ -f "$HERE/node_modules/kafkajs/package.json" ] || { echo "kafkajs not installed: run $HERE/install.sh" >&2; exit 2; }
VERSION="$(node -p "require('$HERE/node_modules/kafkajs/package.json').version")"
echo "kafkajs $VERSION on node $(node --version), broker $BOOTSTRAP" >&2

SCENARIOS=(
  metadata
  admin-create-topic
  admin-delete-topic
  admin-list-topics
  produce-consume-keyed-headers
  admin-fetch-offsets-by-timestamp
  compression-gzip
  compression-snappy
  compression-lz4
  compression-zstd
  consumer-group
  idempotent-producer
  transactions-commit-abort
  transactions-send-offsets
  admin-alter-configs
  admin-describe-configs
  admin-alter-broker-configs
  admin-broker-logger
)

FAILED_ALLOWED=0
for scenario in "${SCENARIOS[@]}"; do
  start=$(date +%s%N)
  note="$(timeout -k 5 "$SCENARIO_TIMEOUT" node "$HERE/scenarios.js" "$BOOTSTRAP" "$scenario" \
    2> >(sed "s/^/[$scenario] /" >&2))"
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "[$scenario] exit $rc after ${ms} ms" >&2
  note="$(printf '%s' "$note" | tail -n 1 | tr '|\r\n' '/  ')"
  if [ "$rc" = 0 ]; then
    status=PASS
  else
    status=FAIL
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && note="timed out after ${SCENARIO_TIMEOUT} s ${note}"
    [ -n "$note" ] || note="exit status $rc, no message (see stderr)"
    grep -qx "kafkajs|$scenario" "$HERE/allow" && FAILED_ALLOWED=1
  fi
  echo "RESULT|node|kafkajs|$VERSION|$scenario|$status|$note"
done

if [ "$FAILED_ALLOWED" = 0 ]; then echo "PASS: node allowlisted scenarios"; exit 0; fi
echo "FAIL: an allowlisted node scenario failed" >&2
exit 1
