#!/usr/bin/env bash
# Runs every compatibility suite against a fresh Sluice broker (release
# build, temp data dir, free port) and writes a report of the results, by
# default to target/compat/compatibility.md (ignored by git, so a CI run leaves
# the checkout clean). To regenerate the committed page, name it:
#
#   compat/run-all.sh            allowlisted scenarios only (what CI runs)
#   compat/run-all.sh --all      every scenario, incl. the full librdkafka test attempt
#   SUITES="kcat python" compat/run-all.sh   a subset
#   REPORT=docs/compatibility.md compat/run-all.sh   update the committed page
#
# The client suites share one broker with default settings. librdkafka's test
# suite gets brokers of its own shaped like its scenarios (tests/scenarios/):
# "default" (4 partitions per new topic) and "noautocreate" (also topic
# auto-creation off), each started just for that suite, with Kafka's retention
# check interval (5 min; Sluice's default 30 s deletes the records with 1970
# timestamps that 0052 produces before it reads them back).
#
# Suites must be installed first (compat/<suite>/install.sh; .ci/run does it).
# Exits non-zero if any allowlisted scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

MODE=allow
[ "${1:-}" = "--all" ] && MODE=all
SUITES="${SUITES:-kcat librdkafka python node go}"
SUITE_TIMEOUT="${SUITE_TIMEOUT:-1800}"
REPORT="${REPORT:-target/compat/compatibility.md}"
# librdkafka's full attempt takes 35-80 minutes on 2 cores.
LIBRDKAFKA_ALL_TIMEOUT="${LIBRDKAFKA_ALL_TIMEOUT:-7200}"

if [ -z "${SLUICE_BIN:-}" ]; then
  cargo build --release -q || exit 1
  SLUICE_BIN="$ROOT/target/release/sluice"
fi
export SLUICE_BIN # librdkafka's run.sh records the binary's build time
WORK="$(mktemp -d)"
BROKER_PIDS=()
SUITE_PID=""
cleanup() {
  local p
  # A suite still running (we were stopped) goes first: its timeout passes
  # the signal on to run.sh, which stops its own children.
  [ -z "$SUITE_PID" ] || kill "$SUITE_PID" 2>/dev/null
  for p in "${BROKER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# start_broker NAME [sluice options...]: a broker on a free port with its own
# data dir; sets ADDR and PID. Logs in $WORK/broker-NAME.{out,err}.
start_broker() {
  local name="$1"; shift
  SLUICE_LOG="${SLUICE_LOG:-warn}" "$SLUICE_BIN" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$WORK/data-$name" "$@" \
    > "$WORK/broker-$name.out" 2> "$WORK/broker-$name.err" &
  PID=$!
  BROKER_PIDS+=("$PID")
  ADDR=""
  for _ in $(seq 1 100); do
    grep -q "^listening on " "$WORK/broker-$name.out" 2>/dev/null && break
    sleep 0.1
  done
  ADDR="$(awk '/^listening on /{print $3; exit}' "$WORK/broker-$name.out")"
  [ -n "$ADDR" ] || { echo "broker $name did not start:"; cat "$WORK/broker-$name.err"; exit 1; }
  echo "broker $name at $ADDR (pid $PID)${*:+, $*}"
}

start_broker main
MAIN_ADDR="$ADDR"
MAIN_PID="$PID"

STATUS=0
RAN=()
for suite in $SUITES; do
  script="compat/$suite/run.sh"
  if [ ! -x "$script" ] && [ ! -f "$script" ]; then
    echo "== $suite: no run.sh, skipped"
    continue
  fi
  args=("$MAIN_ADDR")
  envs=()
  limit="$SUITE_TIMEOUT"
  pids=("$MAIN_PID")
  if [ "$suite" = librdkafka ]; then
    rdk=(--default-partitions 4 --retention-check-interval-ms 300000)
    start_broker librdkafka "${rdk[@]}"
    args=("$ADDR"); pids=("$PID")
    start_broker librdkafka-noautocreate "${rdk[@]}" --auto-create-topics false
    envs=("LIBRDKAFKA_NOAUTOCREATE_BOOTSTRAP=$ADDR"); pids+=("$PID")
    if [ "$MODE" = all ]; then args+=(--all); limit="$LIBRDKAFKA_ALL_TIMEOUT"; fi
  fi
  echo "== $suite"
  start=$(date +%s)
  env "${envs[@]}" timeout "$limit" bash "$script" "${args[@]}" > "$WORK/$suite.out" 2> "$WORK/$suite.err" &
  SUITE_PID=$!
  wait "$SUITE_PID"
  rc=$?
  SUITE_PID=""
  echo "$rc $(( $(date +%s) - start ))" > "$WORK/$suite.rc"
  grep '^RESULT|' "$WORK/$suite.out" | awk -F'|' '{printf "   %-14s %-34s %s\n", $3, $5, $6}'
  if [ "$rc" != 0 ]; then
    echo "   $suite: exit $rc (an allowlisted scenario failed, or the suite broke); last stderr lines:"
    tail -5 "$WORK/$suite.err" | sed 's/^/     /'
    STATUS=1
  fi
  RAN+=("$suite")
  died=0
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "a broker (pid $p) died during $suite:"; tail -20 "$WORK"/broker-*.err; STATUS=1; died=1
    fi
  done
  [ "$died" = 0 ] || break
  if [ "$suite" = librdkafka ]; then
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  fi
done

mkdir -p "$(dirname "$REPORT")"
python3 compat/report.py "$WORK" "$MODE" "${RAN[@]}" > "$REPORT.new" && mv -f "$REPORT.new" "$REPORT" || STATUS=1
echo "wrote $REPORT"
exit $STATUS
