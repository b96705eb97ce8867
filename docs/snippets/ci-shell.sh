#!/bin/sh
# One ephemeral Sluice for a CI job: its topics created at start, a ready file
# to wait on, a reset between tests. (Run by tests/ci_conveniences.rs.)
set -eu
dir=$(mktemp -d)
sluice --ephemeral --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --topics 'orders:3,payments:1:cleanup.policy=compact' \
  --ready-file "$dir/ready" > "$dir/out" &
broker=$!
i=0
until [ -s "$dir/ready" ]; do  # written once the broker serves, topics included
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "sluice did not start" >&2; exit 1; }
  sleep 0.1
done
bootstrap=$(cat "$dir/ready")
http=$(sed -n 's/^http listening on //p' "$dir/out")

echo hello | kcat -b "$bootstrap" -P -t orders -p 0
kcat -b "$bootstrap" -C -t orders -p 0 -o beginning -c 1 -e -q

# Between tests: topics and groups gone, the --topics back, empty.
curl -s -X POST "http://$http/v1/reset"; echo

kill "$broker"; wait "$broker"
rm -r "$dir"
