#!/usr/bin/env bash
# librdkafka's own test suite (tests/test-runner of librdkafka 2.12.1, built by
# install.sh) against a running Sluice broker.
#
#   compat/librdkafka/run.sh HOST:PORT          the tests in tests.allow (CI)
#   compat/librdkafka/run.sh HOST:PORT --all    every candidate test (full attempt)
#   TESTS_ONLY="0001 0012 0045:noautocreate" compat/librdkafka/run.sh HOST:PORT
#                                               just these tests
#
# The broker must look like the suite's "default" scenario
# (tests/scenarios/default.json): topic auto-creation on and 4 partitions per
# new topic, i.e. `sluice --default-partitions 4`; run.sh checks this first.
# Also give it Kafka's retention check interval, `--retention-check-interval-ms
# 300000`: 0052 produces records with 1970 timestamps, which time retention
# deletes at its next pass (Sluice's default: every 30 s).
# Tests of the "noautocreate" scenario (0045's topic-removal sub-tests; 0107
# and 0111 belong to it too but need 3 brokers) need a second broker with
# `--auto-create-topics false --default-partitions 4`, given as
# LIBRDKAFKA_NOAUTOCREATE_BOOTSTRAP=HOST:PORT; they are named
# NNNN-name:noautocreate. compat/run-all.sh starts both brokers.
#
# Each test number (one tests/NNNN-*.c|cpp file, which may hold several
# sub-tests) runs in its own test-runner process under a timeout, with broker
# version 4.1.0 and local-only (mock cluster) sub-tests filtered out (-L).
# Prints one RESULT|librdkafka|librdkafka|2.12.1|NNNN-name|PASS/FAIL|note line
# per test and SUMMARY|librdkafka|<passed>|<attempted> at the end. Exits
# non-zero if a test listed in tests.allow failed. Per-test logs go to
# compat/librdkafka/logs/NNNN.log (NNNN-noautocreate.log).
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
# Tests made of many sub-tests that each wait out session timeouts or
# rebalances get more (seconds; LIBRDKAFKA_TEST_TIMEOUT raises the floor).
declare -A LONG_TIMEOUT=(
  [0045]=300   # ~80 s
  [0076]=300   # ~80 s
  [0077]=300   # ~90 s: four compactions, each waiting for the cleaner
  [0089]=300   # ~105 s
  [0113]=1200  # ~620 s: ~30 cooperative-rebalance sub-tests
)
# The broker version the tests assume (they skip or adapt by version): Sluice
# advertises Kafka 4.1's ranges (Produce v13, Fetch v18, ListOffsets v10).
BROKER_VERSION="${LIBRDKAFKA_BROKER_VERSION:-4.1.0}"

[ -x "$RUNNER" ] || { echo "librdkafka: $RUNNER missing, run compat/librdkafka/install.sh" >&2; exit 2; }
export LD_LIBRARY_PATH="$SRC/src:$SRC/src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The Debian librdkafka (kcat's) must not be picked up instead of ours.
# (ldd's output is captured first: with pipefail, `ldd | grep -q` can fail
# when grep exits early and ldd gets SIGPIPE.)
LDD_OUT="$(ldd "$RUNNER")"
if ! grep -qF "librdkafka.so.1 => $SRC/src/librdkafka.so.1" <<<"$LDD_OUT"; then
  echo "librdkafka: test-runner does not load $SRC/src/librdkafka.so.1:" >&2
  grep rdkafka <<<"$LDD_OUT" >&2
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
  [0068]="mock cluster only (never talks to the broker)"
  [0072]="local: headers unit test"
  [0074]="local: producev"
  [0078]="local: C from C++"
  [0079]="local: fork (known issue)"
  [0080]="local: admin unit test"
  [0092]="not applicable to Kafka >= 4.0 (MsgVersion 0/1 removed; Sluice takes magic 2 only)"
  [0095]="local: all brokers down"
  [0097]="needs SSL (built without it)"
  [0098]="needs the Java TransactionProducerCli (JVM)"
  [0100]="local: thread interceptors"
  [0101]="needs a multi-broker cluster with racks (fetch from follower)"
  [0104]="local: mock cluster"
  [0105]="local: mock cluster"
  [0106]="local: mock cluster"
  [0103]="creates its topics with replication factor 3 (needs a 3-broker cluster); needs transactions too"
  [0107]="creates its topics with replication factor 3 (needs a 3-broker cluster; noautocreate scenario)"
  [0111]="creates its topic with replication factor 3 (needs a 3-broker cluster; noautocreate scenario)"
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
  [0139]="mock cluster only (never talks to the broker)"
  [0142]="needs SASL (re-authentication)"
  [0143]="local: mock cluster"
  [0144]="local: mock cluster"
  [0145]="local: mock cluster"
  [0146]="local: mock cluster"
  [0147]="local: mock cluster"
  [0148]="local: mock cluster"
  [0149]="local: mock cluster"
  [0150]="mock cluster only (never talks to the broker)"
  [0151]="local: mock cluster"
  [0152]="local: rebootstrap"
  [0153]="needs the KIP-848 consumer group protocol (skips itself under classic)"
)

# NNNN -> NNNN-name (the source file's name)
declare -A NAMES=()
for f in "$SRC"/tests/0[0-9][0-9][0-9]-*.c "$SRC"/tests/0[0-9][0-9][0-9]-*.cpp; do
  b="$(basename "$f")"; b="${b%.*}"
  NAMES[${b%%-*}]="$b"
done

# Test numbers with sub-tests of the noautocreate scenario (a broker with
# topic auto-creation off): run a second time against that broker.
NOAUTOCREATE_TESTS="0045"
NOAUTOCREATE_BOOTSTRAP="${LIBRDKAFKA_NOAUTOCREATE_BOOTSTRAP:-}"

# Selected tests: NNNN (default scenario) or NNNN:noautocreate.
if [ -n "${TESTS_ONLY:-}" ]; then
  SELECTED="$TESTS_ONLY"
elif [ "$MODE" = all ]; then
  SELECTED="$(for n in "${!NAMES[@]}"; do [ -z "${EXCLUDED[$n]:-}" ] && echo "$n"; done | sort)"
  for n in $NOAUTOCREATE_TESTS; do SELECTED="$SELECTED $n:noautocreate"; done
else
  # lines librdkafka|NNNN-name or librdkafka|NNNN-name:scenario
  SELECTED="$(grep -v '^\s*#' "$ALLOW" | grep '^librdkafka|' | cut -d'|' -f2 | tr -d ' \r' \
    | sed -E 's/^([0-9]{4})-[^:]*/\1/' | awk '!seen[$0]++')"
fi

WORK="$(mktemp -d)"
# The running test-runner is stopped with us (it has a process group of its
# own, from timeout).
TEST_PID=""
trap '[ -z "$TEST_PID" ] || kill "$TEST_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
trap 'exit 143' TERM INT
mkdir -p "$LOGS" "$WORK/tests"
# The runner's cwd must be a tests/ dir next to src/ (0053 opens ../src/statistics_schema.json).
ln -s "$SRC/src" "$WORK/src"
# One test.conf per scenario. Unique topic names per run so suites can
# share one broker.
PREFIX="rdk$$x$(date +%s)"
for scenario in default noautocreate; do
  if [ "$scenario" = default ]; then b="$BOOTSTRAP"; else b="$NOAUTOCREATE_BOOTSTRAP"; fi
  cat > "$WORK/test-$scenario.conf" <<EOF
bootstrap.servers=$b
test.topic.prefix=$PREFIX
test.timeout.multiplier=${LIBRDKAFKA_TIMEOUT_MULTIPLIER:-2}
EOF
done

# The default scenario's broker makes new topics with 4 partitions: many
# tests produce to partitions 0..3 of a topic they let the broker create.
# Checked with the kafka-topics stand-in: create without a count, describe.
TOPICS_SH="$HERE/build/kafka/bin/kafka-topics.sh"
[ -x "$TOPICS_SH" ] || { echo "librdkafka: $TOPICS_SH missing, run compat/librdkafka/install.sh" >&2; exit 2; }
check_partitions() { # bootstrap what
  local probe="${PREFIX}_partition_probe_$RANDOM" out
  timeout 60 "$TOPICS_SH" --bootstrap-server "$1" --create --topic "$probe" >/dev/null \
    || { echo "librdkafka: cannot create a topic on the $2 at $1" >&2; exit 2; }
  out="$(timeout 60 "$TOPICS_SH" --bootstrap-server "$1" --describe --topic "$probe")"
  timeout 60 "$TOPICS_SH" --bootstrap-server "$1" --delete --topic "$probe" >/dev/null || true
  if ! grep -q "PartitionCount: 4$" <<<"$out"; then
    echo "librdkafka: the $2 at $1 creates topics with ${out##*PartitionCount: } partitions;" \
         "the suite needs 4 (start sluice with --default-partitions 4)" >&2
    exit 2
  fi
}
check_partitions "$BOOTSTRAP" "broker"
[ -z "$NOAUTOCREATE_BOOTSTRAP" ] || check_partitions "$NOAUTOCREATE_BOOTSTRAP" "noautocreate broker"

strip_ansi() { sed -e 's/\x1b\[[0-9;]*[mK]//g' -e 's/\x1b(B//g'; }
clean_note() { tr '|\n\r\t' '/   ' | tr -s ' ' | cut -c1-"${1:-300}"; }

PASSED=0
ATTEMPTED=0
FAILED_ALLOWED=0
result() { # scenario PASS|FAIL note
  echo "RESULT|librdkafka|librdkafka|$VERSION|$1|$2|$3" | tee -a "$WORK/results"
  ATTEMPTED=$((ATTEMPTED + 1))
  if [ "$2" = PASS ]; then
    PASSED=$((PASSED + 1))
  elif { [ "$MODE" = allow ] && [ -z "${TESTS_ONLY:-}" ]; } || grep -qxF "librdkafka|$1" "$ALLOW" 2>/dev/null; then
    FAILED_ALLOWED=1
  fi
}

run_one() { # NNNN or NNNN:scenario
  local num="${1%%:*}" scenario=default name log rc start secs bootstrap="$BOOTSTRAP"
  [ "$1" != "$num" ] && scenario="${1#*:}"
  name="${NAMES[$num]:-}"
  log="$LOGS/$num.log"
  if [ -z "$name" ]; then result "$1" FAIL "no test $num in librdkafka $VERSION"; return; fi
  if [ "$scenario" != default ]; then
    name="$name:$scenario"
    log="$LOGS/$num-$scenario.log"
    if [ "$scenario" != noautocreate ]; then result "$name" FAIL "unknown scenario $scenario"; return; fi
    if [ -z "$NOAUTOCREATE_BOOTSTRAP" ]; then
      result "$name" FAIL "no noautocreate broker (set LIBRDKAFKA_NOAUTOCREATE_BOOTSTRAP)"; return
    fi
    bootstrap="$NOAUTOCREATE_BOOTSTRAP"
  fi
  local limit="${LONG_TIMEOUT[$num]:-0}"
  [ "$limit" -gt "$PER_TEST_TIMEOUT" ] || limit="$PER_TEST_TIMEOUT"
  echo "== $name" >&2
  start=$(date +%s)
  (cd "$WORK/tests" && exec env -u CI TESTS="$num" TEST_KAFKA_VERSION="$BROKER_VERSION" \
      TEST_SCENARIO="$scenario" RDKAFKA_TEST_CONF="$WORK/test-$scenario.conf" \
      KAFKA_PATH="$HERE/build/kafka" BROKERS="$bootstrap" \
      timeout -k 5 "$limit" "$RUNNER" -L -p1 ) > "$log" 2>&1 &
  TEST_PID=$!
  wait "$TEST_PID"
  rc=$?
  TEST_PID=""
  secs=$(( $(date +%s) - start ))
  rm -f "$WORK"/tests/stats_*.json "$WORK"/tests/test_report_*.json
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
    result "$name" FAIL "no result within ${limit}s (killed)${reason:+: $reason}"
  elif [ -n "$failed" ]; then
    result "$name" FAIL "$(echo "failed: $failed- $reason" | clean_note)"
  elif [ "$rc" != 0 ]; then
    result "$name" FAIL "test-runner exit $rc after ${secs}s${reason:+: $reason}"
  elif [ -z "$passed" ]; then
    local why
    why="$(echo "$plain" | grep 'SKIPPING TEST:' | grep -v 'Filtered due to negative test flags' \
      | head -1 | sed 's/.*SKIPPING TEST: //' | clean_note 160)"
    result "$name" FAIL "nothing ran (skipped: ${why:-${skipped:-no sub-test selected}})"
  else
    result "$name" PASS "$(echo "${secs}s; passed: $passed${skipped:+; skipped: $skipped}" | clean_note)"
  fi
}

echo "librdkafka $VERSION test-runner, broker $BOOTSTRAP${NOAUTOCREATE_BOOTSTRAP:+ (noautocreate: $NOAUTOCREATE_BOOTSTRAP)}" \
     "(assumed version $BROKER_VERSION), mode $([ -n "${TESTS_ONLY:-}" ] && echo "TESTS_ONLY" || echo "$MODE")" >&2
for num in $SELECTED; do
  run_one "$num"
done

echo "SUMMARY|librdkafka|$PASSED|$ATTEMPTED"
# A full attempt is recorded in full-run.txt (committed): compat/report.py
# quotes its count in docs/compatibility.md after allowlist-only runs.
if [ "$MODE" = all ] && [ -z "${TESTS_ONLY:-}" ]; then
  {
    built=""
    [ -n "${SLUICE_BIN:-}" ] && [ -f "$SLUICE_BIN" ] && built=", broker built $(date -u -r "$SLUICE_BIN" '+%Y-%m-%d %H:%M UTC')"
    echo "# Last full attempt: compat/librdkafka/run.sh --all, $(date -u '+%Y-%m-%d %H:%M UTC')," \
         "checkout $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)$built"
    echo "# Generated by run.sh; reasons for the failures are in FINDINGS.md."
    cat "$WORK/results"
    echo "SUMMARY|librdkafka|$PASSED|$ATTEMPTED"
  } > "$HERE/full-run.txt"
fi
if [ "$FAILED_ALLOWED" = 0 ]; then
  echo "PASS: librdkafka allowlisted tests" >&2
  exit 0
fi
echo "FAIL: an allowlisted librdkafka test failed (logs in $LOGS)" >&2
exit 1
