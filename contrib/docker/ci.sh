#!/usr/bin/env bash
# The image's CI: installs docker.io and kcat if missing, starts dockerd if none
# runs (no bridge, no iptables: containers use the host's network), builds the
# image (printing its size, < 20 MB), runs the image tests (kcat and
# confluent-kafka against `docker run --network host`), the testcontainers Rust
# module's tests and the Python module's test with SLUICE_TEST_IMAGE set (so
# nothing skips), then stops the dockerd it started.
# Usage: contrib/docker/ci.sh          (as root, or with sudo)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
step() { echo; echo "=== image: $* ($(date +%H:%M:%S))"; }
START=$(date +%s)

step "install: docker.io, kcat"
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v kcat >/dev/null || need+=(kcat)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

STARTED_PID=""
stop_dockerd() {
  if [ -n "$STARTED_PID" ]; then
    echo "=== image: stopping the dockerd started here ($STARTED_PID)"
    $SUDO kill -TERM "$STARTED_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$STARTED_PID" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap stop_dockerd EXIT

step "dockerd"
if docker version >/dev/null 2>&1; then
  echo "a Docker daemon is running already"
else
  mkdir -p target/docker-ci
  $SUDO dockerd --bridge=none --iptables=false --ip6tables=false \
    >target/docker-ci/dockerd.log 2>&1 &
  STARTED_PID=$!
  for _ in $(seq 1 600); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
  docker version --format 'dockerd {{.Server.Version}} is up' \
    || { tail -20 target/docker-ci/dockerd.log; exit 1; }
fi

step "build the image"
IMAGE="sluice:ci-$$"
bash contrib/docker/build-image.sh "$IMAGE"
export SLUICE_TEST_IMAGE="$IMAGE"

step "the README's docker snippet (docs/snippets/docker-run.sh: builds and runs sluice:latest)"
docker rm -f sluice >/dev/null 2>&1 || true
sh -eux docs/snippets/docker-run.sh

step "python: pytest, confluent-kafka, testcontainers (target/docker-ci/venv)"
VENV=target/docker-ci/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
  --only-binary=:all: -r contrib/testcontainers-python/requirements.txt
# The module itself, from its folder (no build leftovers in the checkout).
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q --no-deps \
  --no-build-isolation "$ROOT/contrib/testcontainers-python" 2>/dev/null \
  || "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q --no-deps \
    "$ROOT/contrib/testcontainers-python"
rm -rf contrib/testcontainers-python/build contrib/testcontainers-python/src/*.egg-info

step "image tests: kcat and confluent-kafka against docker run --network host"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider contrib/docker/tests

step "testcontainers (Rust): cargo test -p testcontainers-sluice"
cargo test -q -p testcontainers-sluice

step "testcontainers (Python): SluiceContainer"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider contrib/testcontainers-python/tests

step "the README's Python testcontainers snippet (docs/snippets/python_testcontainers.py)"
# Named unlike the module it imports: a script's own name shadows a module.
TESTCONTAINERS_RYUK_DISABLED=true "$VENV/bin/python" docs/snippets/python_testcontainers.py

docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
step "done in $(( $(date +%s) - START )) s"
