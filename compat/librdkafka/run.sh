#!/usr/bin/env bash
# librdkafka's own test suite (tests/test-runner of librdkafka 2.12.1, built by
# install.sh) against a running Sluice broker.
#
#   compat/librdkafka/run.sh HOST:PORT          the tests in tests.allow (CI)
#   compat/librdkafka/run.sh HOST:PORT --all    every candidate test (full attempt)
#   TESTS_ONLY="0001 0012" compat/librdkafka/run.sh HOST:PORT   just these numbers
#
# Each test number (one tests/NNNN-*.c|cpp file, which may hold several
# sub-tests) runs in its own test-runner process under a timeout, with broker
# version 4.1.0 and local-only (mock cluster) sub-tests filtered out (-L).
# Prints one RESULT|librdkafka|librdkafka|2.12.1|NNNN-name|PASS/FAIL|note line
# per test and SUMMARY|librdkafka|<passed>|<attempted> at the end. Exits
# non-zero if a test listed in tests.allow failed. Per-test logs go to
# compat/librdkafka/logs/NNNN.log.
set -uo pipefail

BOOTSTRAP="${1:?usage: run.sh HOST:PORT [--all]}"
MODE=allow
[ "${2:-}" = "--all" ] && MODE=all
HERE="$(cd "$(dirname "$0")" && pwd)"
VERSION=2.12.1
SRC="$HERE/build/src-$VERSION"
RUNNER="$SRC/tests/test-runner"
ALLOW="$HERE/tests.allow"
LOGS="$HERE/logs"
# Outer bound per test number, seconds (the runner has its own, smaller ones).
PER_TEST_TIMEOUT="${LIBRDKAFKA_TEST_TIMEOUT:-120}"
# The broker version the tests assume (they skip or adapt by version): Sluice
# advertises Kafka 4.1's ranges (Produce v13, Fetch v18, ListOffsets v10).
BROKER_VERSION="${LIBRDKAFKA_BROKER_VERSION:-4.1.0}"

[ -x "$RUNNER" ] || { echo "librdkafka: $RUNNER missing, run compat/librdkafka/install.sh" >&2; exit 2; }
export LD_LIBRARY_PATH="$SRC/src:$SRC/src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The Debian librdkafka (kcat's) must not be picked up instead of ours.
if ! ldd "$RUNNER" | grep -q "librdkafka.so.1 => $SRC/src/"; then
  echo "librdkafka: test-runner does not load $SRC/src/librdkafka.so.1:" >&2
  ldd "$RUNNER" | grep rdkafka >&2
  exit 2
fi

# Test numbers never attempted, with why. Everything else that has a
# tests/NNNN-*.c|cpp file (0001-0999) is a candidate for --all.
declare -A EXCLUDED=(
  [0000]="local: unit tests"
  [0004]="local: configuration"
  [0006]="local: symbols"
  [0009]="local: mock cluster"
  [0025]="local: timers"
  [0028]="known librdkafka issue (runner skips it)"
  [0037]="local: destroy hang"
  [0043]="local: no connection"
  [0046]="local: topic cache"
  [0047]="known librdkafka issue (runner skips it)"
  [0058]="local: log"
  [0062]="local: stats event"
  [0066]="local: plugins"
  [0072]="local: headers unit test"
  [0074]="local: producev"
  [0078]="local: C from C++"
  [0079]="local: fork (known issue)"
  [0080]="local: admin unit test"
  [0095]="local: all brokers down"
  [0097]="needs SSL (built without it)"
  [0098]="needs the Java TransactionProducerCli (JVM)"
  [0100]="local: thread interceptors"
  [0101]="needs a multi-broker cluster with racks (fetch from follower)"
  [0104]="local: mock cluster"
  [0105]="local: mock cluster"
  [0106]="local: mock cluster"
  [0115]="needs SASL and kafka-acls.sh"
  [0116]="local: mock cluster"
  [0117]="local: mock cluster"
  [0119]="needs SASL and kafka-acls.sh"
  [0120]="local: mock cluster"
  [0121]="local: mock cluster"
  [0124]="local: OpenSSL engine"
  [0126]="needs SASL/OAUTHBEARER OIDC"
  [0128]="local: SASL callback queue"
  [0131]="local: connect timeout"
  [0133]="local: SSL keys"
  [0134]="local: SSL provider"
  [0135]="needs SASL"
  [0136]="local: resolve callback"
  [0138]="local: mock cluster"
  [0142]="needs SASL (re-authentication)"
  [0143]="local: mock cluster"
  [0144]="local: mock cluster"
  [0145]="local: mock cluster"
  [0146]="local: mock cluster"
  [0147]="local: mock cluster"
  [0148]="local: mock cluster"
  [0149]="local: mock cluster"
  [0151]="local: mock cluster"
  [0152]="local: rebootstrap"
)

# NNNN -> NNNN-name (the source file's name)
declare -A NAMES=()
for f in "$SRC"/tests/0[0-9][0-9][0-9]-*.c "$SRC"/tests/0[0-9][0-9][0-9]-*.cpp; do
  b="$(basename "$f")"; b="${b%.*}"
  NAMES[${b%%-*}]="$b"
done

if [ -n "${TESTS_ONLY:-}" ]; then
  SELECTED="$TESTS_ONLY"
elif [ "$MODE" = all ]; then
  SELECTED="$(for n in "${!NAMES[@]}"; do [ -z "${EXCLUDED[$n]:-}" ] && echo "$n"; done | sort)"
else
  SELECTED="$(grep -v '^\s*#' "$ALLOW" | grep '^librdkafka|' | cut -d'|' -f2 | cut -d- -f1 | sort -u)"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$LOGS"
# Unique topic names per run so suites can share one broker.
cat > "$WORK/test.conf" <<EOF
bootstrap.servers=$BOOTSTRAP
test.topic.prefix=rdk$$x$(date +%s)
test.timeout.multiplier=${LIBRDKAFKA_TIMEOUT_MULTIPLIER:-2}
EOF

strip_ansi() { sed -e 's/\x1b\[[0-9;]*[mK]//g' -e 's/\x1b(B//g'; }
clean_note() { tr '|\n\r\t' '/   ' | tr -s ' ' | cut -c1-"${1:-300}"; }

PASSED=0
ATTEMPTED=0
FAILED_ALLOWED=0
result() { # scenario PASS|FAIL note
  echo "RESULT|librdkafka|librdkafka|$VERSION|$1|$2|$3"
  ATTEMPTED=$((ATTEMPTED + 1))
  if [ "$2" = PASS ]; then
    PASSED=$((PASSED + 1))
  elif grep -qx "librdkafka|$1" "$ALLOW" 2>/dev/null; then
    FAILED_ALLOWED=1
  fi
}

run_one() { # NNNN
  local num="$1" name="${NAMES[$1]:-}" log="$LOGS/$1.log" rc start secs
  if [ -z "$name" ]; then result "$num" FAIL "no test $num in librdkafka $VERSION"; return; fi
  echo "== $name" >&2
  start=$(date +%s)
  (cd "$WORK" && env -u CI TESTS="$num" TEST_KAFKA_VERSION="$BROKER_VERSION" \
      RDKAFKA_TEST_CONF="$WORK/test.conf" \
      timeout -k 5 "$PER_TEST_TIMEOUT" "$RUNNER" -L -p1 ) > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  rm -f "$WORK"/stats_*.json "$WORK"/test_report_*.json
  local plain rows failed passed skipped reason
  plain="$(strip_ansi < "$log")"
  # Summary rows: "| NNNN_subtest | STATE | 1.234s | reason"
  rows="$(echo "$plain" | grep -E "^\| +${num}_" | sort -u)"
  passed="$(echo "$rows" | awk -F'|' '$3 ~ /PASSED/ {gsub(/ /,"",$2); print $2}' | sort -u | tr '\n' ' ')"
  failed="$(echo "$rows" | awk -F'|' '$3 ~ /FAILED/ {gsub(/ /,"",$2); print $2}' | sort -u | tr '\n' ' ')"
  skipped="$(echo "$rows" | awk -F'|' '$3 ~ /SKIPPED/ {gsub(/ /,"",$2); print $2}' | sort -u | tr '\n' ' ')"
  # First failure message: the line after '### Test "..." failed at ...'
  reason="$(echo "$plain" | grep -A1 -m1 '^### Test ".*" failed at' \
    | sed -E 'N; s/^### Test "[^"]*" failed at ([^:]+:[0-9]+):.*###\n/\1: /' | clean_note 240)"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    result "$name" FAIL "no result within ${PER_TEST_TIMEOUT}s (killed)${reason:+: $reason}"
  elif [ -n "$failed" ]; then
    result "$name" FAIL "$(echo "failed: $failed- $reason" | clean_note)"
  elif [ "$rc" != 0 ]; then
    result "$name" FAIL "test-runner exit $rc after ${secs}s${reason:+: $reason}"
  elif [ -z "$passed" ]; then
    local why
    why="$(echo "$plain" | grep -m1 'SKIPPING TEST:' | sed 's/.*SKIPPING TEST: //' | clean_note 160)"
    result "$name" FAIL "nothing ran (skipped: ${why:-${skipped:-no sub-test selected}})"
  else
    result "$name" PASS "$(echo "${secs}s; passed: $passed${skipped:+; skipped: $skipped}" | clean_note)"
  fi
}

echo "librdkafka $VERSION test-runner, broker $BOOTSTRAP (assumed version $BROKER_VERSION), mode $MODE" >&2
for num in $SELECTED; do
  run_one "$num"
done

echo "SUMMARY|librdkafka|$PASSED|$ATTEMPTED"
if [ "$FAILED_ALLOWED" = 0 ]; then
  echo "PASS: librdkafka allowlisted tests" >&2
  exit 0
fi
echo "FAIL: an allowlisted librdkafka test failed (logs in $LOGS)" >&2
exit 1
