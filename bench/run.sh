#!/usr/bin/env bash
# Sluice benchmarks: every scenario against a fresh release broker (temp data
# dir, free port), driven by sluice-bench (librdkafka), RUNS times each;
# writes docs/benchmarks.md with the median of the runs and the machine, and
# every run's raw result to docs/benchmarks-runs.tsv (scenario, run,
# command, JSON), from which `python3 bench/report.py
# docs/benchmarks-runs.tsv RUNS > docs/benchmarks.md` rebuilds the page.
#
#   bench/run.sh                 all scenarios, 5 runs each, interleaved (about 15 minutes on 2 cores)
#   RUNS=1 bench/run.sh          one run each (a quick look; not for the docs)
#   SCENARIOS="1a 5" bench/run.sh   a subset
#
# Client and broker share the machine, as they do in CI. Not part of the
# test suite: speed is measured here, never by timed tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
RUNS="${RUNS:-5}"
SCENARIOS="${SCENARIOS:-1a 1b 1c 1d 1e 2a 2b 2c 4 5 6a 6b 6c 6d 6e 7i 7n}"

cargo build --release -q -p sluice -p sluice-bench
SLUICE="$ROOT/target/release/sluice"
BENCH="$ROOT/target/release/sluice-bench"
WORK="$(mktemp -d)"
RESULTS="$WORK/results.txt"
BROKER_PID=""
# The build measured, and when: docs/benchmarks.md says so, even when it is
# rebuilt later from the raw results.
printf '#meta\t%s\t%s\n' "$(git rev-parse --short HEAD)" "$(date -u '+%Y-%m-%d %H:%M UTC')" > "$RESULTS"
cleanup() { [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

start_broker() { # broker args...
  DATA="$WORK/data-$RANDOM"
  SLUICE_LOG=warn "$SLUICE" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$DATA" "$@" > "$WORK/broker.out" 2> "$WORK/broker.err" &
  BROKER_PID=$!
  for _ in $(seq 1 200); do
    grep -q "^listening on " "$WORK/broker.out" 2>/dev/null && break
    sleep 0.05
  done
  ADDR="$(awk '/^listening on /{print $3; exit}' "$WORK/broker.out")"
  [ -n "$ADDR" ] || { echo "broker did not start:"; cat "$WORK/broker.err"; exit 1; }
}

stop_broker() {
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
  rm -rf "$DATA"
}

# record SCENARIO RUN COMMAND-FOR-THE-DOCS JSON
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$RESULTS"; }

# produce_consume ID BROKER-ARGS PRODUCE-ARGS: run $run: produce, then
# consume it all back.
produce_consume() {
  local id="$1" bargs="$2" pargs="$3" topic p out
  {
    # shellcheck disable=SC2086
    start_broker $bargs
    topic="bench-$id-$run"
    p="$(echo "$pargs" | sed -n 's/.*--partitions \([0-9]*\).*/\1/p')"
    echo "== $id run $run: broker $bargs; produce $pargs" >&2
    # shellcheck disable=SC2086
    out="$("$BENCH" produce --bootstrap "$ADDR" --topic "$topic" --broker-pid "$BROKER_PID" --label "$id" $pargs)"
    record "$id" "$run" "sluice $bargs; sluice-bench produce $pargs" "$out"
    local size messages
    size="$(echo "$pargs" | sed -n 's/.*--size \([0-9]*\).*/\1/p')"
    messages="$(echo "$pargs" | sed -n 's/.*--messages \([0-9]*\).*/\1/p')"
    out="$("$BENCH" consume --bootstrap "$ADDR" --topic "$topic" --broker-pid "$BROKER_PID" \
      --label "$id" --partitions "${p:-1}" --size "$size" --messages "$messages")"
    record "$id-consume" "$run" "sluice-bench consume --partitions ${p:-1} --size $size --messages $messages" "$out"
    stop_broker
  }
}

# Runs are interleaved (run 1 of every scenario, then run 2, ...), so that a
# machine that gets slower or faster during the ~15 minutes shifts every
# scenario alike and the comparisons between scenarios stay fair.
for run in $(seq 1 "$RUNS"); do
for s in $SCENARIOS; do
  case "$s" in
    1a) produce_consume 1a "--default-partitions 1" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1" ;;
    1b) produce_consume 1b "--default-partitions 8" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 8" ;;
    1c) produce_consume 1c "--default-partitions 8 --fsync interval=100" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 8" ;;
    1d) produce_consume 1d "--default-partitions 8" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 8 --spread message" ;;
    1e) produce_consume 1e "--default-partitions 8 --fsync never" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 8" ;;
    2a) produce_consume 2a "--default-partitions 1" "--messages 200000 --size 1024 --acks all --linger-ms 5 --partitions 1" ;;
    2b) produce_consume 2b "--default-partitions 1" "--messages 200000 --size 1024 --acks all --linger-ms 5 --partitions 1 --compression zstd" ;;
    2c) produce_consume 2c "--default-partitions 1" "--messages 200000 --size 1024 --acks all --linger-ms 5 --partitions 1 --compression lz4" ;;
    6a) produce_consume 6a "--default-partitions 1000" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1000" ;;
    6b) produce_consume 6b "--default-partitions 1000" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1000 --clients 200" ;;
    6c) produce_consume 6c "--default-partitions 1000 --fsync interval=100" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1000" ;;
    6d) produce_consume 6d "--default-partitions 1000" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1000 --spread message" ;;
    6e) produce_consume 6e "--default-partitions 1000 --fsync never" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1000" ;;
    7i) produce_consume 7i "--default-partitions 1 --fsync interval=100" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1" ;;
    7n) produce_consume 7n "--default-partitions 1 --fsync never" "--messages 1000000 --size 100 --acks all --linger-ms 5 --partitions 1" ;;
    4)
      start_broker --default-partitions 1
      args="--messages 100000 --size 100 --acks all --linger-ms 0 --partitions 1 --rate 10000"
      echo "== 4 run $run: e2e $args" >&2
      # shellcheck disable=SC2086
      out="$("$BENCH" e2e --bootstrap "$ADDR" --topic "bench-e2e-$run" --broker-pid "$BROKER_PID" --label 4 $args)"
      record 4 "$run" "sluice --default-partitions 1; sluice-bench e2e $args" "$out"
      stop_broker ;;
    5)
      echo "== 5 run $run: startup" >&2
      out="$("$BENCH" startup --sluice-bin "$SLUICE" --label 5)"
      record 5 "$run" "sluice-bench startup --sluice-bin target/release/sluice" "$out" ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
done

cp "$RESULTS" docs/benchmarks-runs.tsv
python3 bench/report.py docs/benchmarks-runs.tsv "$RUNS" > docs/benchmarks.md
echo "wrote docs/benchmarks.md and docs/benchmarks-runs.tsv" >&2
