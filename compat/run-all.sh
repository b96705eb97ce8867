#!/usr/bin/env bash
# Runs every compatibility suite against one fresh Sluice broker (release
# build, temp data dir, free port) and writes docs/compatibility.md.
#
#   compat/run-all.sh            allowlisted scenarios only (what CI runs)
#   compat/run-all.sh --all      every scenario, incl. the full librdkafka test attempt
#   SUITES="kcat python" compat/run-all.sh   a subset
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

if [ -z "${SLUICE_BIN:-}" ]; then
  cargo build --release -q || exit 1
  SLUICE_BIN="$ROOT/target/release/sluice"
fi
WORK="$(mktemp -d)"
BROKER_PID=""
cleanup() { [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

SLUICE_LOG="${SLUICE_LOG:-warn}" "$SLUICE_BIN" --listen 127.0.0.1:0 --data-dir "$WORK/data" \
  > "$WORK/broker.out" 2> "$WORK/broker.err" &
BROKER_PID=$!
for _ in $(seq 1 100); do
  grep -q "^listening on " "$WORK/broker.out" 2>/dev/null && break
  sleep 0.1
done
ADDR="$(awk '/^listening on /{print $3; exit}' "$WORK/broker.out")"
[ -n "$ADDR" ] || { echo "broker did not start:"; cat "$WORK/broker.err"; exit 1; }
echo "broker at $ADDR (pid $BROKER_PID)"

STATUS=0
RAN=()
for suite in $SUITES; do
  script="compat/$suite/run.sh"
  if [ ! -x "$script" ] && [ ! -f "$script" ]; then
    echo "== $suite: no run.sh, skipped"
    continue
  fi
  args=("$ADDR")
  [ "$MODE" = all ] && [ "$suite" = librdkafka ] && args+=(--all)
  echo "== $suite"
  start=$(date +%s)
  timeout "$SUITE_TIMEOUT" bash "$script" "${args[@]}" > "$WORK/$suite.out" 2> "$WORK/$suite.err"
  rc=$?
  echo "$rc $(( $(date +%s) - start ))" > "$WORK/$suite.rc"
  grep '^RESULT|' "$WORK/$suite.out" | awk -F'|' '{printf "   %-14s %-34s %s\n", $3, $5, $6}'
  if [ "$rc" != 0 ]; then
    echo "   $suite: exit $rc (an allowlisted scenario failed, or the suite broke); last stderr lines:"
    tail -5 "$WORK/$suite.err" | sed 's/^/     /'
    STATUS=1
  fi
  RAN+=("$suite")
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    echo "the broker died during $suite:"; tail -20 "$WORK/broker.err"; STATUS=1; break
  fi
done

python3 compat/report.py "$WORK" "$MODE" "${RAN[@]}" > docs/compatibility.md || STATUS=1
echo "wrote docs/compatibility.md"
exit $STATUS
