#!/usr/bin/env bash
# Installs the Python clients of compat/python into compat/python/.venv, pinned by
# requirements.txt (PyPI wheels only). Idempotent: a venv whose recorded requirements match
# is left alone, so a second run needs no network.
# Usage: compat/python/install.sh        (PYTHON=python3.11 to pick the interpreter)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | awk '{print $1}')"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] \
   && "$VENV/bin/python" -c 'import confluent_kafka, kafka, aiokafka' 2>/dev/null; then
  echo "compat/python: .venv is up to date"
  exit 0
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || { echo "compat/python: needs Python >= 3.9, $PYTHON is $("$PYTHON" --version 2>&1)" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
  # Debian's python3 has no venv/ensurepip without python3-venv.
  echo "compat/python: '$PYTHON -m venv' failed; installing python3-venv" >&2
  rm -rf "$VENV"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
  --only-binary=:all: -r "$HERE/requirements.txt"
"$VENV/bin/python" - <<'PY'
import aiokafka, confluent_kafka, cramjam, kafka, lz4.frame, snappy, zstandard
from aiokafka import codec as ac
from kafka import codec as kc
assert kc.has_snappy() and kc.has_lz4() and kc.has_zstd(), "kafka-python is missing a codec library"
assert ac.has_snappy() and ac.has_lz4() and ac.has_zstd(), "aiokafka is missing a codec library"
print("compat/python: confluent-kafka %s (librdkafka %s), kafka-python %s, aiokafka %s" % (
    confluent_kafka.__version__, confluent_kafka.libversion()[0], kafka.__version__, aiokafka.__version__))
PY
echo "$WANT" > "$STAMP"
