#!/usr/bin/env bash
# sarama and kafka-go (Debian bookworm packages) against a running Sluice broker.
# Usage: compat/go/run.sh HOST:PORT
# Prints one RESULT|go|<client>|<version>|<scenario>|PASS/FAIL|<note> line per scenario on
# stdout (client logs go to stderr); exits non-zero if a scenario listed in ./allow failed.
# Offline: needs ./install.sh to have built bin/compat-go.
set -uo pipefail

BOOTSTRAP="${1:?usage: run.sh HOST:PORT}"
HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="$HERE/bin/compat-go"
SCENARIO_TIMEOUT="${SCENARIO_TIMEOUT:-60}"
[ -x "$BIN" ] || { echo "bin/compat-go not built: run $HERE/install.sh" >&2; exit 2; }

# The client versions are the Debian package versions the binary was built from.
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
declare -A VERSION=(
  [sarama]="$(deb_version golang-github-shopify-sarama-dev)"
  [kafka-go]="$(deb_version golang-github-segmentio-kafka-go-dev)"
)
echo "sarama ${VERSION[sarama]}, kafka-go ${VERSION[kafka-go]}, broker $BOOTSTRAP" >&2

CASES=(
  "sarama metadata"
  "sarama admin-create-topic"
  "sarama admin-delete-topic"
  "sarama admin-list-topics"
  "sarama produce-consume-keyed-headers"
  "sarama admin-fetch-offsets-by-timestamp"
  "sarama compression-gzip"
  "sarama compression-snappy"
  "sarama compression-lz4"
  "sarama compression-zstd"
  "sarama consumer-group"
  "sarama idempotent-producer"
  "sarama transactions-read-committed"
  "sarama admin-alter-config"
  "sarama admin-describe-config"
  "kafka-go metadata"
  "kafka-go admin-create-topic"
  "kafka-go admin-delete-topic"
  "kafka-go produce-consume-keyed-headers"
  "kafka-go compression-gzip"
  "kafka-go compression-snappy"
  "kafka-go compression-lz4"
  "kafka-go consumer-group"
)

FAILED_ALLOWED=0
for c in "${CASES[@]}"; do
  read -r client scenario <<< "$c"
  start=$(date +%s%N)
  note="$(timeout -k 5 "$SCENARIO_TIMEOUT" "$BIN" "$BOOTSTRAP" "$client" "$scenario" \
    2> >(sed "s/^/[$client $scenario] /" >&2))"
  rc=$?
  echo "[$client $scenario] exit $rc after $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
  note="$(printf '%s' "$note" | tail -n 1 | tr '|\r\n' '/  ')"
  if [ "$rc" = 0 ]; then
    status=PASS
  else
    status=FAIL
    { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && note="timed out after ${SCENARIO_TIMEOUT} s ${note}"
    [ -n "$note" ] || note="exit status $rc, no message (see stderr)"
    grep -qx "$client|$scenario" "$HERE/allow" && FAILED_ALLOWED=1
  fi
  echo "RESULT|go|$client|${VERSION[$client]}|$scenario|$status|$note"
done

if [ "$FAILED_ALLOWED" = 0 ]; then echo "PASS: go allowlisted scenarios"; exit 0; fi
echo "FAIL: an allowlisted go scenario failed" >&2
exit 1
