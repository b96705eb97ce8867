#!/bin/sh
# A CI job's admin steps with the sluice CLI (works against Apache Kafka too).
set -eu
export SLUICE_BOOTSTRAP_SERVER="${SLUICE_BOOTSTRAP_SERVER:-127.0.0.1:9092}"

# Before the tests: the topics they need, with their configs.
sluice topics create --topic orders --partitions 3 --if-not-exists
sluice configs alter --entity-type topics --entity-name orders \
  --add-config retention.ms=3600000,cleanup.policy=[compact,delete]
sluice topics describe --topic orders

# ... the application's tests run here ...

# After: what every consumer group left unread, for the job's log.
sluice groups describe --all-groups
# Replay from the start on the next run (only once the consumers stopped).
sluice groups reset-offsets --group billing --all-topics --to-earliest --execute
